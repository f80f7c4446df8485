"""Transient faults, bad replies and bad inputs, through the real engine."""

import time

import numpy as np
import pytest
from inference.core.workflows.errors import RuntimeInputError, StepExecutionError, WorkflowSyntaxError
from inference.core.workflows.execution_engine.entities.base import (
    ImageParentMetadata,
    WorkflowImageData,
)

from llama_vision_block.block import LlamaVisionBlockV1
from support.chat_server import chat_completion, reply_with_image_size
from support.faults import FAULTS, FaultInjector
from support.images import make_image
from support.workflows import API_KEY_INPUT, CAPTION_STEP, compile_workflow, run_workflow, single_step_workflow

API_KEY = "sk-or-reliability"
INPUTS = API_KEY_INPUT
STEP = CAPTION_STEP


def _run(images, **step):
    result = run_workflow(single_step_workflow({**STEP, **step}, INPUTS), {"image": images, "api_key": API_KEY})
    return [item["llama"] for item in result]


def _size_key(request):
    return request.image().shape[:2]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_transient_fault_is_retried_until_the_image_is_answered(chat_server, fault):
    injector = FaultInjector(reply_with_image_size, key=_size_key, failures=lambda key: 2, fault_names=(fault,))
    chat_server.responder = injector

    (outputs,) = _run(make_image(40, 30))

    assert outputs["output"] == "40x30" and outputs["error_status"] is False
    assert len(chat_server.requests) == 3


def test_gives_up_after_max_retries_and_says_what_happened(chat_server):
    chat_server.responder = FaultInjector(
        reply_with_image_size, key=_size_key, failures=lambda key: 9, fault_names=("overloaded",)
    )

    (outputs,) = _run(make_image(40, 30), max_retries=2)

    assert len(chat_server.requests) == 3
    assert outputs["error_status"] is True and outputs["output"] == ""
    assert outputs["error_message"] == "images[0]: OpenRouter (HTTP 503): Service Unavailable (after 3 attempts)"


@pytest.mark.parametrize("status", [400, 413, 422])
def test_request_errors_are_not_retried(chat_server, status):
    chat_server.responder = lambda request: (status, {"error": {"message": "bad input", "code": status}})

    (outputs,) = _run(make_image(40, 30), max_retries=5)

    assert len(chat_server.requests) == 1
    assert outputs["error_message"] == f"images[0]: OpenRouter (HTTP {status}): bad input"


def test_a_request_past_the_time_limit_is_retried(chat_server):
    calls = []

    def responder(request):
        calls.append(request)
        if len(calls) == 1:
            time.sleep(1.5)  # past the 0.5 s limit
        return reply_with_image_size(request)

    chat_server.responder = responder
    (outputs,) = _run(make_image(40, 30), request_timeout=0.5, max_retries=1)

    assert outputs["output"] == "40x30"
    assert len(chat_server.requests) == 2


def test_time_limit_exhausted_names_request_timeout(chat_server):
    chat_server.responder = lambda request: (time.sleep(1.0), reply_with_image_size(request))[1]
    (outputs,) = _run(make_image(40, 30), request_timeout=0.3, max_retries=0)
    assert outputs["error_message"] == "images[0]: OpenRouter: no answer within 0.3 s (request_timeout)"


def test_fail_fast_raises_instead(chat_server):
    chat_server.responder = lambda request: (500, {"error": {"message": "boom", "code": 500}})
    engine = compile_workflow(single_step_workflow({**STEP, "fail_fast": True, "max_retries": 0}, INPUTS))
    with pytest.raises(StepExecutionError, match=r"OpenRouter \(HTTP 500\): boom"):
        engine.run(runtime_parameters={"image": [make_image(8, 8)] * 2, "api_key": API_KEY})


@pytest.mark.parametrize("status", [401, 403, 404])
def test_step_wide_errors_stop_at_once_with_one_error(chat_server, status):
    chat_server.responder = lambda request: (status, {"error": {"message": "no", "code": status}})
    engine = compile_workflow(single_step_workflow({**STEP, "max_concurrent_requests": 2}, INPUTS))
    with pytest.raises(StepExecutionError) as caught:
        engine.run(runtime_parameters={"image": [make_image(8 + i, 8) for i in range(20)], "api_key": API_KEY})
    assert f"(HTTP {status})" in str(caught.value)
    # At most the first request of each of the 2 workers: the rest were never sent.
    assert 1 <= len(chat_server.requests) <= 2


@pytest.mark.parametrize(
    "reply,message",
    [
        ((200, chat_completion("")), "images[0]: OpenRouter: answered with an empty reply (no content)"),
        ((200, chat_completion(None)), "images[0]: OpenRouter: answered with an empty reply (no content)"),
        ((200, "<html><body>Welcome to nginx</body></html>"), "images[0]: OpenRouter: answered with a body that is not a JSON object"),  # never quoted
        ((200, {"error": {"message": "Upstream error", "code": 400}}), "images[0]: OpenRouter (HTTP 400): answered without a reply: Upstream error"),
    ],
)
def test_unusable_replies_are_reported_per_image(chat_server, reply, message):
    chat_server.responder = lambda request: reply
    (outputs,) = _run(make_image(8, 8), max_retries=0)
    assert outputs["error_status"] is True
    assert outputs["error_message"] == message


def test_a_reply_cut_off_by_max_tokens_is_kept_and_flagged(chat_server):
    def responder(request):
        body = chat_completion("A red car parked next to a")
        body["choices"][0]["finish_reason"] = "length"
        return 200, body

    chat_server.responder = responder
    (outputs,) = _run(make_image(8, 8), max_tokens=12)
    assert outputs["output"] == "A red car parked next to a"
    assert outputs["error_status"] is True
    assert outputs["error_message"] == "the reply was cut off at max_tokens=12; raise `max_tokens` for complete answers"


@pytest.mark.parametrize(
    "pixels,sent_size",
    [
        (np.full((30, 40), 120, np.uint8), "40x30"),  # grayscale
        (np.full((30, 40, 4), 120, np.uint8), "40x30"),  # RGBA
        (np.full((30, 40, 3), 40000, np.uint16), "40x30"),  # 16-bit
        (np.zeros((1, 1, 3), np.uint8), "1x1"),
        (np.zeros((20_000, 20_000, 3), np.uint8), "1120x1120"),  # downscaled, not rejected
        (np.zeros((3000, 1500, 3), np.uint8), "560x1120"),  # aspect ratio kept
    ],
    ids=["grayscale", "rgba", "16-bit", "1x1", "20000x20000", "tall"],
)
def test_unusual_images_are_answered_next_to_a_normal_one(chat_server, pixels, sent_size):
    outputs = _run([pixels, make_image(20, 10)])
    assert [o["output"] for o in outputs] == [sent_size, "20x10"]
    assert not any(o["error_status"] for o in outputs)


def test_an_empty_image_costs_only_itself(chat_server):
    outputs = _run([make_image(20, 10), np.zeros((0, 0, 3), np.uint8), make_image(21, 10)])
    assert [o["output"] for o in outputs] == ["20x10", "", "21x10"]
    assert outputs[1]["error_message"].startswith("images[1] is not a decodable image")


def test_a_corrupt_image_from_an_upstream_step_costs_only_itself(chat_server):
    # The engine decodes lazily: bytes from an upstream step fail only when read.
    corrupt = WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id="p"), base64_image="bm90IGFuIGltYWdl")
    fine = WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id="q"), numpy_image=make_image(20, 10))

    outputs = _run_block([fine, corrupt])

    assert [o["output"] for o in outputs] == ["20x10", ""]
    assert outputs[1]["error_message"].startswith("images[1] could not be decoded")
    assert len(chat_server.requests) == 1


def test_an_empty_batch_gives_an_empty_result(chat_server):
    # The engine refuses an empty image list itself; the block, handed one, sends nothing.
    assert _run_block([]) == []
    assert chat_server.requests == []


def _run_block(images):
    """The block's run, called directly as the engine calls it, with the manifest's defaults."""
    from llama_vision_block.manifest import BlockManifest

    manifest = BlockManifest.model_validate(
        {**STEP, "name": "llama", "images": "$inputs.image", "api_key": API_KEY, "max_retries": 0}
    )
    parameters = manifest.model_dump(exclude={"type", "name", "images"})
    return LlamaVisionBlockV1().run(images=images, **parameters)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"task_type": "unconstrained", "prompt": "x" * 131_073}, "`prompt` is 131073 characters; the model takes at most 131072"),
        ({"task_type": "classification", "classes": []}, "`classes` must be a non-empty list of class names"),
        ({"task_type": "classification", "classes": ["cat", "dog", "cat"]}, "`classes` lists 'cat' more than once"),
        ({"task_type": "structured-answering", "output_structure": {}}, "`output_structure` is required"),
        ({"max_tokens": 1}, "max_tokens"),
        ({"max_retries": -1}, "max_retries"),
        ({"request_timeout": 0}, "request_timeout"),
    ],
)
def test_bad_parameters_fail_at_compile_time_naming_the_field(change, message):
    with pytest.raises(WorkflowSyntaxError) as caught:
        compile_workflow(single_step_workflow({**STEP, **change}, INPUTS))
    assert message in str(caught.value.inner_error)


def test_bad_parameters_from_selectors_fail_before_sending(chat_server):
    # The engine re-validates selector values against the manifest before the step runs.
    inputs = INPUTS + [{"type": "WorkflowParameter", "name": "classes"}]
    step = {**STEP, "task_type": "classification", "classes": "$inputs.classes"}
    with pytest.raises(RuntimeInputError) as caught:
        run_workflow(single_step_workflow(step, inputs), {"image": make_image(8, 8), "api_key": API_KEY, "classes": ["cat", "cat"]})
    assert "`classes` lists 'cat' more than once" in str(caught.value.inner_error)
    assert chat_server.requests == []
