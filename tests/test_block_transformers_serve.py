"""Every task type through the compatible-server provider, in the real engine,
against a real OpenAI-compatible server: `transformers serve` with the tiny
checkpoint, whose chat template enforces Meta's rules on the server."""

import httpx
import pytest
from transformers import AutoProcessor

from llama_vision_block import schemas
from llama_vision_block.images import encode_image
from llama_vision_block.prompts import to_chat_messages
from llama_vision_block.providers.local.backend import render_prompt
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.tasks import TASK_TYPES, build_prompt
from support.images import make_image
from support.tiny_mllama import build_tiny_mllama
from support.transformers_server import transformers_serve
from support.workflows import run_workflow, single_step_workflow

MAX_TOKENS = 8
TASK_SETTINGS = {"prompt": "How many cars are there?", "classes": ["car", "bus"], "output_structure": {"count": "how many cars"}}
INPUTS = [
    {"type": "WorkflowParameter", "name": "base_url"},
    {"type": "WorkflowParameter", "name": "model"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    checkpoint = build_tiny_mllama(tmp_path_factory.mktemp("tiny-mllama"))
    with transformers_serve(checkpoint) as running:
        yield running


def _run(server, task_type, images, model=None, **settings):
    step = {
        "type": "llama_vision_block/llama_3_2_vision@v1",
        "task_type": task_type,
        "model_version": "11B - OpenAI-compatible server",
        "base_url": "$inputs.base_url",
        "served_model_name": "$inputs.model",
        "temperature": 0.0,
        "max_tokens": MAX_TOKENS,
        "max_retries": 0,
        **TASK_SETTINGS,
        **settings,
    }
    parameters = {"image": images, "base_url": server.base_url, "model": model or server.model}
    return [item["llama"] for item in run_workflow(single_step_workflow(step, INPUTS), parameters)]


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_type_is_answered_by_a_server_that_applies_metas_template(server, task_type):
    outputs = _run(server, task_type, [make_image(64, 48, seed=1), make_image(40, 60, seed=2)])

    assert len(outputs) == 2
    for image in outputs:
        # The server answered: any error left is about reading a random model's
        # reply as JSON, never an HTTP error (the template refusing the prompt).
        assert "HTTP" not in image["error_message"], image["error_message"]
        assert isinstance(image["output"], str) and image["output"]
        assert image["input_tokens"] > 0
        assert 0 < image["output_tokens"] <= MAX_TOKENS


def test_token_counts_are_the_servers_own(server):
    (image,) = _run(server, "caption", [make_image(64, 48, seed=1)])
    processor = AutoProcessor.from_pretrained(server.model, local_files_only=True)
    rendered = render_prompt(processor, build_prompt("caption"))
    assert image["input_tokens"] == len(processor.tokenizer(rendered, add_special_tokens=False)["input_ids"])


def test_the_server_refuses_a_system_message_beside_an_image(server):
    """The negative control: this server enforces the rule the block now follows."""
    messages = to_chat_messages(build_prompt("caption"), encode_image(make_image(32, 32)).data_url())
    body = {"model": server.model, "max_tokens": 2, "temperature": 0.0}

    accepted = httpx.post(f"{server.base_url}/chat/completions", json={**body, "messages": messages}, timeout=60)
    refused = httpx.post(
        f"{server.base_url}/chat/completions",
        json={**body, "messages": [{"role": "system", "content": "Be brief."}, *messages]},
        timeout=60,
    )

    assert accepted.status_code == 200
    assert refused.status_code >= 400


def test_a_model_name_the_server_does_not_serve_is_named_in_the_error(server):
    (image,) = _run(server, "caption", [make_image(32, 32)], model="meta-llama/Llama-3.2-11B-Vision-Instruct")
    assert image["error_status"] is True
    assert "OpenAI-compatible server (HTTP 400): Server is pinned to" in image["error_message"]


def test_the_server_ignores_a_json_schema_rather_than_refusing_it(server):
    """transformers serve takes `response_format` and, logging that it ignores
    it, answers unconstrained: nothing to fall back from, so the reply itself
    must tell whether the constraint was applied."""
    schema = schemas.classification(TaskInputs(classes=["car", "bus"]), 60)
    messages = to_chat_messages(build_prompt("classification", classes=["car", "bus"]), encode_image(make_image(32, 32)).data_url())
    response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
    body = {"model": server.model, "max_tokens": 60, "temperature": 0.0, "messages": messages, "response_format": response_format}

    answer = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60)

    assert answer.status_code == 200
    assert schemas.schema_violation(answer.json()["choices"][0]["message"]["content"], schema) is not None


def test_auto_reads_the_unconstrained_answers_of_a_server_that_ignores_the_schema(server):
    outputs = _run(server, "classification", [make_image(64, 48, seed=1), make_image(40, 60, seed=2)], max_tokens=60)
    for image in outputs:  # answered; a random reply is then not a class, and says so
        assert "HTTP" not in image["error_message"] and "constrained" not in image["error_message"]
        assert image["output"]


def test_required_flags_every_answer_the_server_did_not_constrain(server):
    outputs = _run(
        server, "classification", [make_image(64, 48, seed=1), make_image(40, 60, seed=2)],
        max_tokens=60, constrained_decoding="required",
    )
    for image in outputs:
        assert image["error_status"] is True
        assert "does not match the JSON schema it was constrained to" in image["error_message"]
        assert "the provider did not apply the constraint" in image["error_message"]
        assert image["predictions"] is None


@pytest.mark.parametrize("task_type", ["classification", "multi-label-classification", "structured-answering", "object-detection"])
def test_an_answer_the_server_stopped_at_max_tokens_is_flagged_in_every_json_task(server, task_type):
    images = [make_image(64, 48, seed=seed) for seed in range(4)]
    outputs = _run(server, task_type, images, max_tokens=2)

    stopped = [image for image in outputs if image["output_tokens"] == 2]
    assert stopped  # this random model writes at least 3 tokens for each of these prompts
    for image in stopped:  # the server said finish_reason "length"
        assert image["error_status"] is True
        assert image["error_message"].startswith("the reply was cut off at max_tokens=2")
        assert "raise `max_tokens` for complete answers" in image["error_message"]
