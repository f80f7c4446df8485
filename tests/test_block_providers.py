"""Each provider through inference's real ExecutionEngine, against loopback servers."""

import logging

import pytest
from inference.core.workflows.errors import RuntimeInputError, StepExecutionError

from llama_vision_block.providers.remote import cloudflare, openai_compatible
from support.chat_server import ChatServer, ollama, vllm
from support.images import make_image
from support.loopback import LoopbackServer
from support.workers_ai import WorkersAI
from support.workflows import run_workflow, single_step_workflow

PARAMETERS = ["api_key", "account", "base_url", "temperature"]
INPUTS = [{"type": "WorkflowParameter", "name": name} for name in PARAMETERS]


def _outputs(result):
    return [item["llama"] for item in result]


@pytest.fixture
def workers_ai(monkeypatch):
    account = WorkersAI()
    server = LoopbackServer(responder=account).start()
    monkeypatch.setenv(cloudflare.API_BASE_ENV, f"{server.origin}/client/v4")
    account.server = server
    yield account
    server.stop()


def _cloudflare_step(**extra):
    return {
        "type": "roboflow_core/llama_3_2_vision@v1",
        "task_type": "caption",
        "model_version": "11B - Cloudflare Workers AI",
        "api_key": "$inputs.api_key",
        "cloudflare_account_id": "$inputs.account",
        **extra,
    }


def test_cloudflare_through_the_engine(workers_ai):
    workers_ai.license_accepted = True
    images = [make_image(64, 32, seed=1), make_image(30, 90, seed=2)]

    outputs = _outputs(
        run_workflow(
            single_step_workflow(_cloudflare_step(top_k=10, seed=5), INPUTS),
            {"image": images, "api_key": workers_ai.token, "account": workers_ai.account_id},
        )
    )

    assert [o["output"] for o in outputs] == ["64x32", "30x90"]
    assert not any(o["error_status"] for o in outputs)
    assert [o["output_tokens"] for o in outputs] == [1, 1]  # from Workers AI's usage
    assert all(o["input_tokens"] > 0 for o in outputs)
    for request in workers_ai.server.requests:
        assert [m["role"] for m in request.body["messages"]] == ["user"]  # no system message
        assert request.body["top_k"] == 10 and request.body["seed"] == 5
        assert request.body["max_tokens"] == 500 and request.body["temperature"] == 0.1
    assert workers_ai.schema_errors == []


def test_cloudflare_license_refusal_stops_the_step_with_what_to_do(workers_ai):
    with pytest.raises(StepExecutionError) as caught:
        run_workflow(
            single_step_workflow(_cloudflare_step(), INPUTS),
            {"image": [make_image(8, 8)] * 3, "api_key": workers_ai.token, "account": workers_ai.account_id},
        )
    assert "Set `cloudflare_accept_llama_license` to true" in str(caught.value)


def test_cloudflare_license_opt_in(workers_ai):
    outputs = _outputs(
        run_workflow(
            single_step_workflow(_cloudflare_step(cloudflare_accept_llama_license=True), INPUTS),
            {"image": [make_image(10 + i, 8) for i in range(3)], "api_key": workers_ai.token, "account": workers_ai.account_id},
        )
    )
    assert [o["output"] for o in outputs] == ["10x8", "11x8", "12x8"]
    assert workers_ai.agreements == 1


def test_selector_temperature_outside_the_range_is_refused_before_sending(workers_ai):
    # The engine re-validates selector values against the manifest before the step runs.
    with pytest.raises(RuntimeInputError) as caught:
        run_workflow(
            single_step_workflow(_cloudflare_step(temperature="$inputs.temperature"), INPUTS),
            {"image": make_image(8, 8), "api_key": "k", "account": workers_ai.account_id, "temperature": 3.0},
        )
    assert "regarding property temperature" in str(caught.value)
    assert "`temperature` must be in the range 0.0-2.0; got 3.0" in str(caught.value.inner_error)
    assert workers_ai.server.requests == []


def test_vllm_with_base_url_from_the_step_and_no_key(caplog):
    server = ChatServer(responder=vllm("meta-llama/Llama-3.2-90B-Vision-Instruct"), base_path="/v1").start()
    step = {
        "type": "llama_vision_block/llama_3_2_vision@v1",
        "task_type": "ocr",
        "model_version": "90B - OpenAI-compatible server",
        "base_url": "$inputs.base_url",
        "top_k": 30,
        "repetition_penalty": 1.05,
        "presence_penalty": 0.5,
    }
    try:
        with caplog.at_level(logging.WARNING):
            outputs = _outputs(
                run_workflow(single_step_workflow(step, INPUTS), {"image": [make_image(50, 40)] * 2, "base_url": server.base_url})
            )
    finally:
        server.stop()

    assert [o["output"] for o in outputs] == ["50x40", "50x40"]
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert "authorization" not in request.headers
    assert request.body["model"] == "meta-llama/Llama-3.2-90B-Vision-Instruct"
    assert (request.body["top_k"], request.body["repetition_penalty"], request.body["presence_penalty"]) == (30, 1.05, 0.5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "request body" in r.getMessage()]
    assert sorted(warnings) == sorted(openai_compatible.PARAMETER_NOTES.values())  # once each, not per image


def test_ollama_with_base_url_from_the_environment_and_a_key(monkeypatch):
    server = ChatServer(responder=ollama("llama3.2-vision"), base_path="/v1").start()
    monkeypatch.setenv(openai_compatible.BASE_URL_ENV, server.base_url)
    step = {
        "type": "llama_vision_block/llama_3_2_vision@v1",
        "task_type": "caption",
        "model_version": "11B - OpenAI-compatible server",
        "served_model_name": "llama3.2-vision",
        "api_key": "$inputs.api_key",
    }
    try:
        (outputs,) = _outputs(run_workflow(single_step_workflow(step, INPUTS), {"image": make_image(33, 22), "api_key": "ollama-key"}))
    finally:
        server.stop()

    assert outputs["output"] == "33x22"
    assert server.requests[0].headers["authorization"] == "Bearer ollama-key"
    assert server.requests[0].body["model"] == "llama3.2-vision"


def test_unknown_served_model_stops_the_step_naming_it(monkeypatch):
    server = ChatServer(responder=ollama("llama3.2-vision"), base_path="/v1").start()
    monkeypatch.setenv(openai_compatible.BASE_URL_ENV, server.base_url)
    step = {"type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption", "model_version": "11B - OpenAI-compatible server"}
    try:
        with pytest.raises(StepExecutionError) as caught:
            run_workflow(single_step_workflow(step, INPUTS), {"image": [make_image(8, 8)] * 2})
    finally:
        server.stop()
    assert str(caught.value) == (
        'OpenAI-compatible server (HTTP 404): model "meta-llama/Llama-3.2-11B-Vision-Instruct" '
        "not found, try pulling it first"
    )
    assert len(server.requests) <= 2
