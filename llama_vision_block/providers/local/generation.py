"""One `generate` call for a batch, and how the step's `Generation` settings map
onto its arguments.

Honoured: `max_tokens` (max_new_tokens), `temperature` (0 or less: greedy decoding;
above 0: sampling), `top_p`, `top_k` (sampling only), `repetition_penalty` and
`seed`. `frequency_penalty` and `presence_penalty` have no `transformers`
equivalent and are ignored (the backend logs that once).

A sampling setting left unset falls back to the checkpoint's
`generation_config.json` (Llama 3.2 Vision Instruct ships top_p 0.9) and then to
`transformers`' own defaults.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from llama_vision_block.providers.base import Generation, Reply


def is_sampling(generation: Generation) -> bool:
    """Whether the reply is sampled (temperature above 0) rather than greedy."""
    return generation.temperature is not None and generation.temperature > 0


def generate_replies(
    model: Any,
    processor: Any,
    device: str,
    texts: Sequence[str],
    images: Sequence[Any],
    generation: Generation,
    on_generate: Optional[Callable[[int], None]] = None,
    logits_processors: Sequence[Any] = (),
) -> Tuple[List[Reply], int]:
    """Runs one `generate` for prompts `texts` (chat template applied) and their
    images, `logits_processors` applied after the step's own (a grammar mask);
    returns each row's reply (with its own token counts, padding excluded) and
    the number of tokens generated."""
    import torch

    tokenizer = processor.tokenizer
    config = model.generation_config
    pad_id = getattr(config, "pad_token_id", None)
    if pad_id is None:
        pad_id = tokenizer.pad_token_id
    kwargs = generate_kwargs(generation, pad_id, getattr(config, "repetition_penalty", None))
    if logits_processors:
        kwargs["logits_processor"] = _processor_list(*kwargs.get("logits_processor", ()), *logits_processors)
    with torch.inference_mode():
        inputs = processor(
            images=[[image] for image in images],
            text=list(texts),
            padding=True,  # on the left: the loader set tokenizer.padding_side
            add_special_tokens=False,  # the chat template wrote <|begin_of_text|>
            return_tensors="pt",
        ).to(device)
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        if generation.seed is not None and is_sampling(generation):
            torch.manual_seed(generation.seed)
        if on_generate is not None:
            on_generate(len(texts))
        output = model.generate(**inputs, **kwargs)
        new_tokens = output[:, inputs["input_ids"].shape[1]:].cpu()
        # Each row's prompt without its (left) padding: text tokens and `<|image|>`.
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
    decoded = tokenizer.batch_decode(
        new_tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
    )
    eos = token_ids(getattr(config, "eos_token_id", None))
    # Rows that finished early are padded after their end-of-turn token; a row
    # without one stopped because it hit max_tokens.
    ends = [
        next((i + 1 for i, token in enumerate(row) if token in eos), None)
        for row in new_tokens.tolist()
    ]
    lengths = [new_tokens.shape[1] if end is None else end for end in ends]
    replies = [
        Reply(text=text, cut_off=end is None, input_tokens=int(prompt), output_tokens=length)
        for text, end, prompt, length in zip(decoded, ends, prompt_lengths, lengths)
    ]
    return replies, sum(lengths)


def is_out_of_memory(error: BaseException) -> bool:
    """A CUDA out-of-memory error, typed or reported as a RuntimeError message."""
    import torch

    kinds = (getattr(torch.cuda, "OutOfMemoryError", None), getattr(torch, "OutOfMemoryError", None))
    typed = tuple(kind for kind in kinds if isinstance(kind, type))
    if typed and isinstance(error, typed):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def generate_kwargs(
    generation: Generation,
    pad_token_id: Optional[int],
    default_repetition_penalty: Optional[float] = None,
) -> Dict[str, Any]:
    """Keyword arguments for `model.generate`, the same for every image of a batch."""
    kwargs: Dict[str, Any] = {
        "max_new_tokens": generation.max_tokens,
        # transformers' own repetition penalty indexes the scores with every
        # prompt id, and `<|image|>` (id 128256) lies past the language head's
        # 128256 outputs, so it fails on every Mllama prompt
        # (huggingface/transformers#34304). `RepetitionPenalty` below skips it.
        "repetition_penalty": 1.0,
    }
    if pad_token_id is not None:
        kwargs["pad_token_id"] = pad_token_id
    if is_sampling(generation):
        kwargs["do_sample"] = True
        kwargs["temperature"] = generation.temperature
        if generation.top_p is not None:
            kwargs["top_p"] = generation.top_p
        if generation.top_k is not None:
            kwargs["top_k"] = generation.top_k
    else:
        # None clears the checkpoint's sampling defaults, which greedy decoding
        # would otherwise warn about.
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    penalty = generation.repetition_penalty
    if penalty is None:
        penalty = default_repetition_penalty
    if penalty is not None and penalty != 1.0:
        kwargs["logits_processor"] = _processor_list(RepetitionPenalty(penalty))
    return kwargs


class RepetitionPenalty:
    """CTRL-style repetition penalty (as `transformers`') that ignores ids the
    language head cannot produce, such as Mllama's `<|image|>`.

    Every token present in the sequence so far (prompt included) has its score
    divided by `penalty` when positive and multiplied by it when negative.
    """

    def __init__(self, penalty: float) -> None:
        if penalty <= 0:
            raise ValueError(f"repetition_penalty must be above 0; got {penalty}.")
        self.penalty = float(penalty)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        vocab = scores.shape[-1]
        # One spare column collects the out-of-range ids, then is dropped.
        seen = torch.zeros(
            (scores.shape[0], vocab + 1), dtype=torch.bool, device=scores.device
        )
        seen.scatter_(1, input_ids.clamp(min=0, max=vocab), True)
        seen = seen[:, :vocab]
        penalized = torch.where(scores < 0, scores * self.penalty, scores / self.penalty)
        return torch.where(seen, penalized, scores)


def token_ids(value: Any) -> frozenset:
    """A config's token id setting (one id, a list of them, or None) as a set."""
    if value is None:
        return frozenset()
    if isinstance(value, int):
        return frozenset({value})
    return frozenset(int(token) for token in value)


def _processor_list(*processors: Any) -> Any:
    from transformers import LogitsProcessorList

    return LogitsProcessorList(processors)
