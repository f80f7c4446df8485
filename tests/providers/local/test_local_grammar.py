"""Grammar-constrained generation in process, on the tiny random checkpoint.

A random model rambles: unconstrained, its replies are almost never valid JSON.
Constrained to the task's schema, at the block's default `max_tokens`, every
reply is valid; the pair shows the constraint does the work.
"""

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.images import encode_image
from llama_vision_block.manifest import BlockManifest
from llama_vision_block.parsing import parse_detections, parse_multi_label, parse_single_label, parse_structured
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest
from llama_vision_block.providers.local import backend as local_transformers
from llama_vision_block.schemas import ResponseSchema, response_schema, schema_violation
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.tasks import TASKS, build_prompt
from support.images import make_image

MODEL = "meta-llama/Llama-3.2-11B-Vision-Instruct"
DEFAULT_MAX_TOKENS = BlockManifest.model_fields["max_tokens"].default
CLASSES = ["cat", "dog", "traffic light"]
STRUCTURE = {"count": "how many animals", "color": "the main color", "outdoor": "true if outdoors"}
SIZE = (64, 48)
# What a valid reply must also be to the block's own parser.
READERS = {
    "classification": lambda text: parse_single_label(text, CLASSES),
    "multi-label-classification": lambda text: parse_multi_label(text, CLASSES),
    "structured-answering": lambda text: parse_structured(text, STRUCTURE),
    "object-detection": lambda text: parse_detections(text, CLASSES, SIZE),
}
SAMPLES = 10  # images x seeds per task and mode


def _backend(path, batch_size=4):
    options = {"model_path": str(path), "device": "cpu", "batch_size": batch_size}
    return local_transformers.create_backend(MODEL, ProviderSettings(options=options))


def _constraint(task, mode="auto"):
    inputs = TaskInputs(classes=CLASSES, output_structure=STRUCTURE)
    return response_schema(TASKS[task].json_schema, mode, inputs, DEFAULT_MAX_TOKENS)


def _request(task, sample, constraint):
    return VisionRequest(
        prompt=build_prompt(task, classes=CLASSES, output_structure=STRUCTURE),
        image=encode_image(make_image(*SIZE, seed=sample)),
        # Sampled at full temperature: the model rambles as much as it can.
        generation=Generation(max_tokens=DEFAULT_MAX_TOKENS, temperature=1.0, seed=1000 + sample),
        response_schema=constraint,
    )


def _valid(task, text, schema):
    return schema_violation(text, schema) is None and READERS[task](text).ok


@pytest.mark.parametrize("task", list(READERS))
def test_constrained_replies_are_all_valid_and_unconstrained_ones_mostly_not(tiny_checkpoint, task):
    backend = _backend(tiny_checkpoint)
    constraint = _constraint(task)
    constrained = [backend.complete(_request(task, i, constraint)) for i in range(SAMPLES)]
    free = [backend.complete(_request(task, i, None)) for i in range(SAMPLES)]

    assert all(_valid(task, reply.text, constraint.schema) for reply in constrained), [r.text for r in constrained]
    assert not any(reply.cut_off for reply in constrained)  # the schema fits max_tokens
    assert sum(_valid(task, reply.text, constraint.schema) for reply in free) <= SAMPLES // 5


def test_each_row_of_a_batch_follows_its_own_schema(own_checkpoint):
    backend = _backend(own_checkpoint)
    backend.loaded.batcher.gather_idle_s = backend.loaded.batcher.gather_max_s = 0.5
    tasks = ["classification", "structured-answering", "object-detection", "classification"]
    constraints = [_constraint(task) for task in tasks[:3]] + [None]  # the last row is free
    requests = [_request(task, i, c) for i, (task, c) in enumerate(zip(tasks, constraints))]
    # Greedy decoding, so every request shares one Generation and so one batch.
    requests = [
        VisionRequest(prompt=r.prompt, image=r.image, generation=Generation(max_tokens=DEFAULT_MAX_TOKENS, temperature=0.0),
                      response_schema=r.response_schema)
        for r in requests
    ]
    with ThreadPoolExecutor(len(requests)) as pool:
        replies = list(pool.map(backend.complete, requests))

    assert max(backend.stats.batch_sizes) == len(requests)
    for task, constraint, reply in zip(tasks[:3], constraints, replies):
        assert _valid(task, reply.text, constraint.schema), reply.text
    assert schema_violation(replies[3].text, constraints[0].schema) is not None


def test_a_schema_is_compiled_once_however_many_images_use_it(own_checkpoint):
    backend = _backend(own_checkpoint, batch_size=1)
    schemas = [_constraint("classification"), _constraint("object-detection")]
    for i in range(6):
        backend.complete(_request("classification", i, schemas[i % 2]))
    assert backend.loaded.batcher.grammars().compiles == 2


@pytest.fixture
def without_xgrammar(own_checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgrammar", None)  # `import xgrammar` fails
    return own_checkpoint


def test_without_xgrammar_required_is_a_clear_error(without_xgrammar):
    backend = _backend(without_xgrammar)
    with pytest.raises(ConfigurationError, match="xgrammar, which is not installed: pip install"):
        backend.complete(_request("classification", 0, _constraint("classification", "required")))


def test_without_xgrammar_auto_answers_unconstrained_and_says_so_once(without_xgrammar, caplog):
    backend = _backend(without_xgrammar)
    for i in range(2):
        reply = backend.complete(_request("classification", i, _constraint("classification")))
        assert reply.text
    said = [r for r in caplog.records if "xgrammar is not installed" in r.getMessage()]
    assert len(said) == 1
