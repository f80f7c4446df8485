"""How the step's sampling settings become `generate` arguments."""

import pytest
import torch

from llama_vision_block.providers.base import Generation
from llama_vision_block.providers.local.generation import RepetitionPenalty, generate_kwargs


def test_temperature_zero_is_greedy_and_clears_the_checkpoints_sampling_defaults():
    kwargs = generate_kwargs(Generation(max_tokens=30, temperature=0.0, top_p=0.5, top_k=4), pad_token_id=7)
    assert kwargs == {
        "max_new_tokens": 30,
        "repetition_penalty": 1.0,
        "pad_token_id": 7,
        "do_sample": False,
        "temperature": None,
        "top_p": None,
        "top_k": None,
    }


def test_sampling_passes_only_what_the_step_set():
    kwargs = generate_kwargs(Generation(max_tokens=12, temperature=0.7, top_k=20), pad_token_id=None)
    assert kwargs == {"max_new_tokens": 12, "repetition_penalty": 1.0, "do_sample": True,
                      "temperature": 0.7, "top_k": 20}
    kwargs = generate_kwargs(Generation(max_tokens=12, temperature=1.2, top_p=0.9), pad_token_id=None)
    assert kwargs["top_p"] == 0.9 and "top_k" not in kwargs


def test_frequency_and_presence_penalties_are_not_passed():
    generation = Generation(max_tokens=12, temperature=0.0, frequency_penalty=1.0, presence_penalty=1.0)
    kwargs = generate_kwargs(generation, pad_token_id=None)
    assert not {"frequency_penalty", "presence_penalty", "logits_processor"} & set(kwargs)


@pytest.mark.parametrize(
    "asked, checkpoint_default, expected",
    [(1.3, None, 1.3), (None, 1.1, 1.1), (1.3, 1.1, 1.3), (None, None, None), (1.0, 1.1, None)],
)
def test_repetition_penalty_from_the_step_or_the_checkpoint(asked, checkpoint_default, expected):
    generation = Generation(max_tokens=12, temperature=0.0, repetition_penalty=asked)
    kwargs = generate_kwargs(generation, pad_token_id=None, default_repetition_penalty=checkpoint_default)
    assert kwargs["repetition_penalty"] == 1.0  # transformers' own one stays off
    processors = kwargs.get("logits_processor")
    if expected is None:
        assert processors is None
    else:
        (processor,) = processors
        assert isinstance(processor, RepetitionPenalty) and processor.penalty == expected


def test_repetition_penalty_skips_ids_past_the_language_head():
    scores = torch.tensor([[2.0, -2.0, 1.0, 4.0], [2.0, -2.0, 1.0, 4.0]])
    # id 4 is `<|image|>`: one past the 4 scores, as 128256 is for the real model.
    input_ids = torch.tensor([[4, 0, 1, 0], [4, 4, 4, 3]])
    penalised = RepetitionPenalty(2.0)(input_ids, scores.clone())
    assert penalised.tolist() == [[1.0, -4.0, 1.0, 4.0], [2.0, -2.0, 1.0, 2.0]]
