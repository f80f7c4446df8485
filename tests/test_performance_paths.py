"""What issue 7's speed rests on, checked for behaviour (speed itself lives in benchmarks/)."""

import base64

import cv2

from llama_vision_block.providers.remote.clients import CLIENTS
from support.images import make_image
from support.workflows import API_KEY_INPUT, CAPTION_STEP, run_workflow, single_step_workflow

INPUTS = API_KEY_INPUT
STEP = CAPTION_STEP


def test_a_jpeg_input_reaches_the_provider_byte_for_byte(chat_server):
    jpeg = cv2.imencode(".jpg", make_image(320, 240), [cv2.IMWRITE_JPEG_QUALITY, 77])[1].tobytes()
    image = {"type": "base64", "value": base64.b64encode(jpeg).decode()}

    run_workflow(single_step_workflow(STEP, INPUTS), {"image": image, "api_key": "k"})

    assert chat_server.requests[0].image_bytes() == jpeg


def test_max_image_side_is_honoured(chat_server):
    (result,) = run_workflow(
        single_step_workflow({**STEP, "max_image_side": 500}, INPUTS), {"image": make_image(1000, 400), "api_key": "k"}
    )
    assert result["llama"]["output"] == "500x200"


def test_runs_reuse_one_client_and_its_kept_alive_connections(chat_server):
    workflow = single_step_workflow({**STEP, "max_concurrent_requests": 2}, INPUTS)
    run_workflow(workflow, {"image": [make_image(10 + i, 10) for i in range(4)], "api_key": "reuse-key"})
    clients_after_first_run = len(CLIENTS)

    run_workflow(workflow, {"image": [make_image(20 + i, 10) for i in range(4)], "api_key": "reuse-key"})

    assert len(CLIENTS) == clients_after_first_run
    # 8 requests over two runs, at most 2 at a time: at most 2 connections opened.
    assert len({request.client_port for request in chat_server.requests}) <= 2
    assert len(chat_server.requests) == 8


def test_callers_with_different_keys_share_one_client_and_each_sends_its_own(chat_server):
    workflow = single_step_workflow(STEP, INPUTS)
    run_workflow(workflow, {"image": make_image(8, 8), "api_key": "key-one"})
    before = len(CLIENTS)
    run_workflow(workflow, {"image": make_image(8, 8), "api_key": "key-two"})
    assert len(CLIENTS) == before  # a client per server, not per key: memory stays bounded
    assert [r.headers["authorization"] for r in chat_server.requests] == ["Bearer key-one", "Bearer key-two"]
