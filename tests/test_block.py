"""The block in inference's real ExecutionEngine against a loopback OpenRouter."""

import threading

import pytest
from inference.core.workflows.errors import StepExecutionError

from llama_vision_block.errors import ProviderError
from support.chat_server import chat_completion, reply_with_image_size
from support.images import make_image
from support.workflows import compile_workflow, run_workflow, single_step_workflow

API_KEY = "sk-or-test-key-0123456789"
SEED_STEP = {
    "type": "roboflow_core/llama_3_2_vision@v1",
    "task_type": "unconstrained",
    "prompt": "What is in the image?",
    "api_key": "$inputs.api_key",
    "model_version": "11B (Regular) - OpenRouter",
}
API_KEY_INPUT = [{"type": "WorkflowParameter", "name": "api_key"}]


def step_outputs(result):
    return [item["llama"] for item in result]


@pytest.mark.parametrize(
    "block_type",
    ["llama_vision_block/llama_3_2_vision@v1", "roboflow_core/llama_3_2_vision@v1"],
)
def test_single_image_round_trip(chat_server, block_type):
    workflow = single_step_workflow({**SEED_STEP, "type": block_type}, API_KEY_INPUT)

    (outputs,) = step_outputs(run_workflow(workflow, {"image": make_image(640, 480), "api_key": API_KEY}))

    assert isinstance(outputs.pop("inference_id"), str)
    assert outputs.pop("latency_s") >= 0.0  # the image's time, waiting included
    assert outputs == {
        "output": "640x480",
        "classes": None,
        "structured_output": None,
        "predictions": None,
        "error_status": False,
        "error_message": "",
        "input_tokens": 10,  # the server's usage
        "output_tokens": 3,
    }
    (request,) = chat_server.requests
    assert request.path == "/api/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    # The core block sends no such header: this proves our block ran for the seed type.
    assert request.headers["x-title"] == "llama-vision-block"
    assert request.body["model"] == "meta-llama/llama-3.2-11b-vision-instruct"
    assert request.body["max_tokens"] == 500
    assert request.body["temperature"] == 0.1
    user = request.body["messages"][-1]
    assert user["role"] == "user"
    assert [part["type"] for part in user["content"]] == ["image_url", "text"]
    assert user["content"][1]["text"] == "What is in the image?"
    assert request.image().shape[:2] == (480, 640)


def test_batch_results_keep_input_order(chat_server):
    sizes = [(320, 200), (100, 300), (640, 480), (50, 60), (800, 100)]
    workflow = single_step_workflow({**SEED_STEP, "max_concurrent_requests": 3}, API_KEY_INPUT)

    result = run_workflow(
        workflow,
        {"image": [make_image(w, h, seed=i) for i, (w, h) in enumerate(sizes)], "api_key": API_KEY},
    )

    assert [item["output"] for item in step_outputs(result)] == [f"{w}x{h}" for w, h in sizes]
    assert len(chat_server.requests) == len(sizes)


def test_max_concurrent_requests_is_reached_and_never_exceeded(chat_server):
    chat_server.barrier = threading.Barrier(3, timeout=10)
    workflow = single_step_workflow({**SEED_STEP, "max_concurrent_requests": 3}, API_KEY_INPUT)

    result = run_workflow(
        workflow, {"image": [make_image(64, 48, seed=i) for i in range(6)], "api_key": API_KEY}
    )

    assert [item["output"] for item in step_outputs(result)] == ["64x48"] * 6
    assert chat_server.max_in_flight == 3


def test_parameters_reach_the_server(chat_server):
    step = {
        **SEED_STEP,
        "type": "llama_vision_block/llama_3_2_vision@v1",
        "task_type": "classification",
        "prompt": None,
        "classes": "$inputs.classes",
        "model_version": "$inputs.model_version",
        "temperature": "$inputs.temperature",
        "max_tokens": 77,
    }
    inputs = API_KEY_INPUT + [
        {"type": "WorkflowParameter", "name": "classes"},
        {"type": "WorkflowParameter", "name": "model_version"},
        {"type": "WorkflowParameter", "name": "temperature"},
    ]
    reply = '```json\n{"class_name": "cat", "confidence": 0.9}\n```'
    chat_server.responder = lambda request: (200, chat_completion(reply))

    (outputs,) = step_outputs(
        run_workflow(
            single_step_workflow(step, inputs),
            {
                "image": make_image(120, 90),
                "api_key": API_KEY,
                "classes": ["cat", "dog"],
                "model_version": "90B (Regular) - OpenRouter",
                "temperature": 1.5,
            },
        )
    )

    assert outputs["output"] == reply
    assert outputs["classes"] == ["cat", "dog"]
    assert outputs["predictions"]["top"] == "cat"
    body = chat_server.requests[0].body
    assert body["model"] == "meta-llama/llama-3.2-90b-vision-instruct"
    assert body["max_tokens"] == 77
    assert body["temperature"] == 1.5
    (user,) = body["messages"]  # no system message beside the image
    assert user["role"] == "user" and user["content"][0]["type"] == "image_url"
    assert "\nClasses: cat, dog\n" in user["content"][1]["text"]


def test_a_failed_image_does_not_cost_the_others(chat_server):
    def responder(request):
        if request.image().shape[1] == 99:
            return 200, {"error": {"message": "Provider returned error", "code": 502}}
        return reply_with_image_size(request)

    chat_server.responder = responder
    workflow = single_step_workflow({**SEED_STEP, "max_retries": 0}, API_KEY_INPUT)
    images = [make_image(40, 30), make_image(99, 30), make_image(41, 30)]

    outputs = step_outputs(run_workflow(workflow, {"image": images, "api_key": API_KEY}))

    assert [o["output"] for o in outputs] == ["40x30", "", "41x30"]
    assert [o["error_status"] for o in outputs] == [False, True, False]
    assert outputs[1]["error_message"] == (
        "images[1]: OpenRouter (HTTP 502): answered without a reply: Provider returned error"
    )


def test_rejected_key_stops_the_step_with_one_error(chat_server):
    chat_server.responder = lambda request: (
        401,
        {"error": {"message": "No auth credentials found", "code": 401}},
    )
    engine = compile_workflow(single_step_workflow(SEED_STEP, API_KEY_INPUT))

    with pytest.raises(StepExecutionError) as caught:
        engine.run(runtime_parameters={"image": make_image(32, 32), "api_key": API_KEY})

    assert isinstance(caught.value.inner_error, ProviderError)
    assert str(caught.value) == "OpenRouter (HTTP 401): No auth credentials found"
    assert caught.value.inner_error.status_code == 401


def test_a_seed_step_without_model_version_keeps_the_seeds_openrouter_default(chat_server):
    step = {key: value for key, value in SEED_STEP.items() if key != "model_version"}
    (outputs,) = step_outputs(run_workflow(single_step_workflow(step, API_KEY_INPUT), {"image": make_image(32, 32), "api_key": API_KEY}))
    assert outputs["output"] == "32x32"
    assert chat_server.requests[0].body["model"] == "meta-llama/llama-3.2-11b-vision-instruct:free"


def test_token_counts_are_none_when_the_provider_does_not_say(chat_server):
    def without_usage(request):
        status, body = reply_with_image_size(request)
        body.pop("usage")
        return status, body

    chat_server.responder = without_usage
    (outputs,) = step_outputs(run_workflow(single_step_workflow(SEED_STEP, API_KEY_INPUT), {"image": make_image(32, 32), "api_key": API_KEY}))
    assert outputs["output"] == "32x32"
    assert outputs["input_tokens"] is None and outputs["output_tokens"] is None
