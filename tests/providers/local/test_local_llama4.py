"""Llama 4 in process: a tiny random Llama 4 checkpoint through the same backend."""

import pytest
from transformers import AutoProcessor

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.families import FAMILIES, LLAMA_4
from llama_vision_block.images import encode_image
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest
from llama_vision_block.providers.local import backend as local_transformers
from llama_vision_block.schemas import ResponseSchema, classification, schema_violation
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.tasks import build_prompt
from support.images import make_image
from support.tiny_llama4 import build_tiny_llama4
from support.tiny_mllama import SYSTEM_WITH_IMAGE_ERROR

MODEL = "meta-llama/Llama-4-Scout-17B-16E-Instruct"
CLASSES = ["car", "bus"]


@pytest.fixture(scope="module")
def llama4_checkpoint(tmp_path_factory):
    return build_tiny_llama4(tmp_path_factory.mktemp("tiny-llama4"))


def _backend(path, family=LLAMA_4):
    options = {"model_path": str(path), "device": "cpu", "batch_size": 2}
    return local_transformers.create_backend(MODEL, ProviderSettings(options=options), family)


def _request(seed, constraint=None):
    return VisionRequest(
        prompt=build_prompt("classification", classes=CLASSES),
        image=encode_image(make_image(90, 60, seed=seed)),
        generation=Generation(max_tokens=120, temperature=1.0, seed=seed + 1),
        response_schema=constraint,
    )


def test_a_llama4_checkpoint_answers_through_the_backend_in_metas_llama4_format(llama4_checkpoint):
    backend = _backend(llama4_checkpoint)
    assert type(backend.loaded.model).__name__ == "Llama4ForConditionalGeneration"
    rendered = local_transformers.render_prompt(backend.loaded.processor, build_prompt("caption"))
    assert rendered.startswith("<|begin_of_text|><|header_start|>user<|header_end|>\n\n<|image|>")
    assert rendered.endswith("<|eot|><|header_start|>assistant<|header_end|>\n\n")
    reply = backend.complete(_request(0))
    assert reply.input_tokens > 0 and 0 < reply.output_tokens <= 120


def test_constrained_decoding_works_with_llama4s_tokenizer(llama4_checkpoint):
    backend = _backend(llama4_checkpoint)
    constraint = ResponseSchema(classification(TaskInputs(classes=CLASSES), 120))
    replies = [backend.complete(_request(seed, constraint)) for seed in range(4)]
    assert all(schema_violation(reply.text, constraint.schema) is None for reply in replies), [r.text for r in replies]


def test_a_checkpoint_of_another_family_is_named_in_the_error(llama4_checkpoint, tiny_checkpoint):
    with pytest.raises(ConfigurationError, match="holds a 'llama4' model, not Llama 3.2 Vision"):
        _backend(llama4_checkpoint, family="llama-3.2-vision")
    with pytest.raises(ConfigurationError, match="holds a 'mllama' model, not Llama 4"):
        _backend(tiny_checkpoint)


def test_the_family_table_says_truly_which_template_takes_a_system_message_beside_an_image(
    llama4_checkpoint, tiny_checkpoint
):
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]},
    ]
    llama4 = AutoProcessor.from_pretrained(llama4_checkpoint, local_files_only=True)
    assert "Be brief." in llama4.apply_chat_template(messages, add_generation_prompt=True)
    assert FAMILIES[LLAMA_4].system_message_with_image is True
    mllama = AutoProcessor.from_pretrained(tiny_checkpoint, local_files_only=True)
    with pytest.raises(Exception, match=SYSTEM_WITH_IMAGE_ERROR):
        mllama.apply_chat_template(messages, add_generation_prompt=True)
    assert FAMILIES["llama-3.2-vision"].system_message_with_image is False
