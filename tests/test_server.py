"""The block in inference's real HTTP server, reached through inference_sdk."""

import base64
import json
import urllib.error
import urllib.request

import cv2
import pytest
from inference_sdk import InferenceHTTPClient

from support.chat_server import ChatServer
from support.images import make_image
from support.inference_server import running_server

SENTINEL = "sk-SENTINEL-server-0b7d2c"


@pytest.fixture(scope="module")
def server():
    # The operator opens the server to callers' base URLs: these tests point
    # steps at loopback stand-ins (tests/test_security.py covers the closed server).
    with running_server(OPENAI_COMPATIBLE_ALLOWED_BASE_URLS="*") as url:
        yield url


@pytest.fixture
def compatible_server():
    chat = ChatServer(base_path="/v1").start()
    yield chat
    chat.stop()


def _spec(block_type, base_url, **step):
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}, {"type": "WorkflowParameter", "name": "api_key"}],
        "steps": [{
            "type": block_type, "name": "llama", "images": "$inputs.image", "task_type": "caption",
            "model_version": "11B - OpenAI-compatible server", "base_url": base_url,
            "api_key": "$inputs.api_key", **step,
        }],
        "outputs": [{"type": "JsonField", "name": "llama", "selector": "$steps.llama.*"}],
    }


@pytest.mark.parametrize("block_type", ["llama_vision_block/llama_3_2_vision@v1", "roboflow_core/llama_3_2_vision@v1"])
def test_workflows_run_through_the_server(server, compatible_server, block_type):
    client = InferenceHTTPClient(api_url=server)
    images = [make_image(64, 48, seed=1), make_image(30, 90, seed=2)]

    result = client.run_workflow(
        specification=_spec(block_type, compatible_server.base_url),
        images={"image": images},
        parameters={"api_key": "k"},
    )

    assert [item["llama"]["output"] for item in result] == ["64x48", "30x90"]
    assert all(item["llama"]["error_status"] is False for item in result)
    assert compatible_server.requests[0].headers["authorization"] == "Bearer k"


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_blocks_describe_lists_the_block_as_the_editor_needs_it(server):
    status, body = _post(f"{server}/workflows/blocks/describe", {})
    assert status == 200
    blocks = json.loads(body)["blocks"]
    answering_seed_type = [
        b for b in blocks
        if "roboflow_core/llama_3_2_vision@v1" in [b["manifest_type_identifier"], *b["manifest_type_identifier_aliases"]]
    ]
    (ours,) = answering_seed_type
    assert ours["manifest_type_identifier"] == "llama_vision_block/llama_3_2_vision@v1"
    assert ours["block_source"] == "llama_vision_block"
    schema = ours["block_schema"]
    assert (schema["name"], schema["version"], schema["block_type"], schema["license"]) == (
        "Llama 3.2 Vision", "v1", "model", "Llama 3.2 Community"
    )
    assert schema["short_description"] and "Llama" in schema["search_keywords"]
    assert "object-detection" in schema["properties"]["task_type"]["values_metadata"]
    assert schema["properties"]["api_key"]["private"] is True
    outputs = {o["name"]: [k["name"] for k in o["kind"]] for o in ours["outputs_manifest"]}
    assert outputs["output"] == ["string", "language_model_output"]
    assert outputs["predictions"] == ["classification_prediction", "object_detection_prediction"]


@pytest.mark.parametrize(
    "failure",
    ["provider_rejects_and_quotes_the_key", "compile_error_with_a_literal_key", "bad_selector_value"],
)
def test_server_error_responses_never_contain_the_key(server, failure):
    echo = ChatServer(
        responder=lambda r: (401, {"error": {"message": f"key {r.headers.get('authorization')} rejected", "code": 401}}),
        base_path="/v1",
    ).start()
    try:
        spec = _spec("roboflow_core/llama_3_2_vision@v1", echo.base_url)
        jpeg = base64.b64encode(cv2.imencode(".jpg", make_image(16, 16))[1].tobytes()).decode()
        inputs = {"image": {"type": "base64", "value": jpeg}, "api_key": SENTINEL}
        if failure == "compile_error_with_a_literal_key":
            spec["steps"][0].update(task_type="classification", api_key=SENTINEL)
        if failure == "bad_selector_value":
            spec["inputs"].append({"type": "WorkflowParameter", "name": "temperature"})
            spec["steps"][0]["temperature"] = "$inputs.temperature"
            inputs["temperature"] = 3.0
        status, body = _post(f"{server}/workflows/run", {"specification": spec, "inputs": inputs})
    finally:
        echo.stop()

    assert status >= 400, body
    assert SENTINEL not in body
    if failure == "provider_rejects_and_quotes_the_key":
        assert "rejected" in body and "[redacted]" in body
