"""The API key never shows up in logs, errors, outputs or the manifest's repr."""

import json
import logging
import socket
import traceback

import pytest

from llama_vision_block.manifest import BlockManifest
from llama_vision_block.providers.remote import cloudflare, openai_compatible
from support.images import make_image
from support.loopback import serving
from support.workflows import compile_workflow, single_step_workflow

SENTINEL = "sk-SENTINEL-7f3a9c1e5b2d4680"
INPUTS = [{"type": "WorkflowParameter", "name": "api_key"}]


def _echo_key(status):
    """A provider that quotes the Authorization header back in its error, as some do."""
    return lambda request: (
        status,
        {"error": {"message": f"key {request.headers.get('authorization')} rejected", "code": status}},
    )


def _run_and_capture(step, env, caplog, capfd, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    captured = []
    with caplog.at_level(logging.DEBUG):
        logging.getLogger().setLevel(logging.DEBUG)
        try:
            engine = compile_workflow(single_step_workflow(step, INPUTS))
            result = engine.run(runtime_parameters={"image": [make_image(8, 8)] * 2, "api_key": SENTINEL})
            captured.append(json.dumps(result, default=str))
        except Exception as error:
            captured.append("".join(traceback.format_exception(error)))
            captured.extend(repr(e) for e in (error, getattr(error, "inner_error", None)))
    out, err = capfd.readouterr()
    captured.extend([caplog.text, out, err])
    captured.extend(repr(record.args) for record in caplog.records)
    return "\n".join(captured)


@pytest.mark.parametrize("status", [401, 500])
def test_openrouter_failures(chat_server, status, caplog, capfd, monkeypatch):
    chat_server.responder = _echo_key(status)
    step = {"type": "roboflow_core/llama_3_2_vision@v1", "task_type": "caption", "api_key": "$inputs.api_key", "max_retries": 1}
    everything = _run_and_capture(step, {}, caplog, capfd, monkeypatch)
    assert "rejected" in everything  # the failure really was captured
    assert "[redacted]" in everything
    assert SENTINEL not in everything


def test_compatible_server_failure(caplog, capfd, monkeypatch):
    step = {"type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption",
            "model_version": "11B - OpenAI-compatible server", "api_key": "$inputs.api_key", "max_retries": 0}
    with serving(_echo_key(502)) as server:
        everything = _run_and_capture(step, {openai_compatible.BASE_URL_ENV: f"{server.origin}/v1"}, caplog, capfd, monkeypatch)
    assert "rejected" in everything and SENTINEL not in everything


def test_cloudflare_failure(caplog, capfd, monkeypatch):
    responder = lambda r: (400, {"success": False, "result": None, "messages": [], "errors": [  # noqa: E731
        {"code": 5006, "message": f"bad request from {r.headers.get('authorization')}"}]})
    step = {"type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption",
            "model_version": "11B - Cloudflare Workers AI", "api_key": "$inputs.api_key",
            "cloudflare_account_id": "0123456789abcdef0123456789abcdef", "max_retries": 0}
    with serving(responder) as server:
        everything = _run_and_capture(step, {cloudflare.API_BASE_ENV: f"{server.origin}/client/v4"}, caplog, capfd, monkeypatch)
    assert "bad request from" in everything and SENTINEL not in everything


def test_connection_refused(caplog, capfd, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    step = {"type": "roboflow_core/llama_3_2_vision@v1", "task_type": "caption", "api_key": "$inputs.api_key", "max_retries": 0}
    everything = _run_and_capture(step, {"OPENROUTER_BASE_URL": f"http://127.0.0.1:{port}/api/v1"}, caplog, capfd, monkeypatch)
    assert "could not connect" in everything and SENTINEL not in everything


def test_compile_errors_do_not_echo_a_literal_key():
    step = {"type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "classification", "api_key": SENTINEL}
    with pytest.raises(Exception) as caught:
        compile_workflow(single_step_workflow(step, INPUTS))
    text = "".join(traceback.format_exception(caught.value)) + repr(getattr(caught.value, "inner_error", ""))
    assert "`classes` is required" in text
    assert SENTINEL not in text


def test_manifest_repr_hides_the_key():
    manifest = BlockManifest.model_validate(
        {"type": "llama_vision_block/llama_3_2_vision@v1", "name": "s", "images": "$inputs.image",
         "task_type": "caption", "api_key": SENTINEL}
    )
    assert SENTINEL not in repr(manifest) and SENTINEL not in str(manifest)


def test_redaction_leaves_words_alone_for_placeholder_keys():
    from llama_vision_block.errors import redact

    assert redact("a truck", "k") == "a truck"  # too short to be a key
    assert redact("key sk-abcdefgh0 here", "sk-abcdefgh0") == "key [redacted] here"
