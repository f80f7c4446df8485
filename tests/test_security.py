"""What an untrusted caller of a shared inference server can make the block do.

Each test plays one attack against servers on 127.0.0.1 and asserts the outcome:
the server refuses before connecting, or the attack costs one image a clear,
bounded error and leaks nothing."""

import base64
import json
import os
import time

import cv2
import httpx
import pytest
from inference.core.workflows.errors import RuntimeInputError, StepExecutionError

from llama_vision_block.access import ALLOWED_BASE_URLS_ENV, ALLOWED_DEVICES_ENV, CUSTOM_PYTHON_ENV, MODEL_ROOTS_ENV
from llama_vision_block.cli.serve import prepare_environment
from llama_vision_block.providers.remote.clients import CLIENTS, MAX_CLIENTS_ENV
from llama_vision_block.providers.remote.transport import MAX_REPLY_BYTES_ENV
from support.chat_server import ChatServer, chat_completion, reply_with_image_size
from support.hostile import TricklingServer
from support.images import make_image
from support.inference_server import running_server
from support.loopback import LoopbackServer, serving
from support.workflows import run_workflow, single_step_workflow

SECRET = "internal-service-secret-0xC0FFEE"
KEY = "sk-caller-key-0123456789"
INPUTS = [{"type": "WorkflowParameter", "name": "base_url"}, {"type": "WorkflowParameter", "name": "api_key"}]


def _internal_service():
    """A service on the server's network that answers with something private."""
    return LoopbackServer(responder=lambda request: (403, f"<html>{SECRET}</html>")).start()


def _compatible_step(**extra):
    return {
        "type": "llama_vision_block/llama_3_2_vision@v1",
        "task_type": "caption",
        "model_version": "11B - OpenAI-compatible server",
        "base_url": "$inputs.base_url",
        "api_key": "$inputs.api_key",
        "max_retries": 0,
        **extra,
    }


def _run(base_url, images, **extra):
    workflow = single_step_workflow(_compatible_step(**extra), INPUTS)
    return [item["llama"] for item in run_workflow(workflow, {"image": images, "base_url": base_url, "api_key": KEY})]


# --- SSRF: closed by default on a server -------------------------------------------


def test_a_closed_server_refuses_a_callers_base_url_before_connecting(monkeypatch):
    internal = _internal_service()
    monkeypatch.setenv(ALLOWED_BASE_URLS_ENV, "http://127.0.0.1:1/v1")
    try:
        with pytest.raises(StepExecutionError) as caught:
            _run(f"{internal.origin}/v1", [make_image(8, 8)])
    finally:
        internal.stop()
    assert internal.requests == []
    assert ALLOWED_BASE_URLS_ENV in str(caught.value) and SECRET not in str(caught.value)


def test_a_closed_server_lets_callers_use_the_servers_the_operator_allowed(monkeypatch):
    server = ChatServer(base_path="/v1").start()
    monkeypatch.setenv(ALLOWED_BASE_URLS_ENV, f"{server.origin}/v1/")  # trailing slash ignored
    try:
        (image,) = _run(server.base_url, [make_image(32, 16)])
    finally:
        server.stop()
    assert image["output"] == "32x16"


def test_serve_closes_every_setting_the_operator_left_open(monkeypatch):
    for name in (ALLOWED_BASE_URLS_ENV, MODEL_ROOTS_ENV, ALLOWED_DEVICES_ENV, CUSTOM_PYTHON_ENV, "LLAMA_VISION_OLLAMA_BASE_URL"):
        # set, then deleted: monkeypatch then also removes what serve adds, after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("LLAMA_VISION_BASE_URL", "http://gpu-box:8000/v1")
    monkeypatch.setenv(MODEL_ROOTS_ENV, "/models")  # the operator's own choice stays

    closed = prepare_environment(offline=False)

    assert closed == {ALLOWED_BASE_URLS_ENV: "http://gpu-box:8000/v1", ALLOWED_DEVICES_ENV: "", CUSTOM_PYTHON_ENV: "False"}
    assert os.environ[MODEL_ROOTS_ENV] == "/models"


def test_a_script_may_use_any_server_but_never_quotes_its_body(monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    page = LoopbackServer(responder=lambda request: (200, f"<html>{SECRET}</html>")).start()
    internal = _internal_service()
    try:
        (image,) = _run(f"{page.origin}/v1", [make_image(8, 8)])
        with pytest.raises(StepExecutionError) as caught:  # 403: every image would fail
            _run(f"{internal.origin}/v1", [make_image(8, 8)])
    finally:
        page.stop()
        internal.stop()
    assert image["error_message"] == "images[0]: OpenAI-compatible server: answered with a body that is not a JSON object"
    assert SECRET not in json.dumps(image)
    assert "(HTTP 403): no error message" in str(caught.value) and SECRET not in str(caught.value)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://user:pw@127.0.0.1:9/v1", "http://127.0.0.1:9/v1?x=1", "gopher://127.0.0.1/"])
def test_base_urls_that_are_not_plain_http_are_refused(url, monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    with pytest.raises(StepExecutionError, match="`base_url` must be an HTTP"):
        _run(url, [make_image(8, 8)])


# --- Redirects ------------------------------------------------------------------------


def test_a_redirect_is_an_error_and_its_target_is_never_reached(monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    internal = _internal_service()
    redirector = LoopbackServer(
        responder=lambda request: (302, f"moved {SECRET}", {"Location": f"{internal.origin}/latest/meta-data"})
    ).start()
    try:
        (image,) = _run(f"{redirector.origin}/v1", [make_image(8, 8)])
    finally:
        redirector.stop()
        internal.stop()
    assert internal.requests == []
    assert image["error_message"] == (
        "images[0]: OpenAI-compatible server (HTTP 302): answered with a redirect, which the "
        "block never follows; point the URL at the server itself"
    )


# --- Foreign bodies, huge replies, keys in replies ------------------------------------


def _with_one_bad_image(bad_reply):
    """Runs two images; the server gives `bad_reply` for the first (13 px wide)."""

    def respond(request):
        return bad_reply if request.image().shape[1] == 13 else reply_with_image_size(request)

    server = ChatServer(responder=respond, base_path="/v1").start()
    try:
        bad, good = _run(server.base_url, [make_image(13, 8), make_image(14, 8)])
    finally:
        server.stop()
    assert good["output"] == "14x8" and not good["error_status"]
    return bad


def test_a_body_that_is_not_json_costs_only_its_image(monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    bad = _with_one_bad_image((200, "this is not JSON", {"Content-Type": "application/json"}))
    assert bad["error_message"] == "images[0]: OpenAI-compatible server: answered with a body that is not a JSON object"


def test_a_reply_above_the_byte_limit_costs_only_its_image(monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    monkeypatch.setenv(MAX_REPLY_BYTES_ENV, str(64 * 1024))
    bad = _with_one_bad_image((200, chat_completion("x" * 1_000_000)))
    assert bad["error_message"] == "images[0]: OpenAI-compatible server: the reply is larger than 65536 bytes"
    assert bad["output"] == ""


def test_a_key_echoed_in_a_reply_never_reaches_an_output(monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    echo = lambda request: (200, chat_completion(f"Your header was {request.headers['authorization']}"))  # noqa: E731
    server = ChatServer(responder=echo, base_path="/v1").start()
    try:
        (image,) = _run(server.base_url, [make_image(8, 8)])
    finally:
        server.stop()
    assert image["output"] == "Your header was Bearer [redacted]"
    assert KEY not in json.dumps(image)


# --- Time ------------------------------------------------------------------------------


def test_request_timeout_bounds_the_whole_attempt_not_each_read(monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    trickler = TricklingServer().start()
    try:
        (image,) = _run(trickler.base_url, [make_image(8, 8)], request_timeout=1)
        for _ in range(100):  # the server notices the hang-up on its next send
            if trickler.sent:
                break
            time.sleep(0.05)
    finally:
        trickler.stop()
    assert image["error_message"] == "images[0]: OpenAI-compatible server: no answer within 1.0 s (request_timeout)"
    # Every byte arrived well within httpx's per-read limit; only the deadline on
    # the whole attempt made the client hang up before the reply was complete.
    (sent,) = trickler.sent
    assert 0 < sent < trickler.full_reply_bytes


# --- Memory ---------------------------------------------------------------------------


def test_many_base_urls_keep_a_bounded_number_of_clients_and_close_the_rest(monkeypatch):
    monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    monkeypatch.setenv(MAX_CLIENTS_ENV, "4")
    CLIENTS.clear()
    server = ChatServer(base_path="").start()
    created = []
    real_lease = CLIENTS.lease

    def recording_lease(key, create):
        def recorded():
            client = create()
            created.append(client)
            return client

        return real_lease(key, recorded)

    monkeypatch.setattr(CLIENTS, "lease", recording_lease)
    try:
        for index in range(12):
            (image,) = _run(f"{server.origin}/tenant-{index}", [make_image(8, 8)])
            assert image["output"] == "8x8"
    finally:
        server.stop()
    assert len(created) == 12 and len(CLIENTS) == 4
    assert all(client.is_closed() for client in created[:8])
    assert not any(client.is_closed() for client in created[8:])


# --- Size limits on the step itself -------------------------------------------------


@pytest.mark.parametrize("account", ["../../accounts/other", "0123456789abcdef0123456789abcdeg", "0" * 31])
def test_a_cloudflare_account_id_that_is_not_one_is_refused_before_connecting(account, cloudflare):
    step = {
        "type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption",
        "model_version": "11B - Cloudflare Workers AI", "api_key": "$inputs.api_key",
        "cloudflare_account_id": "$inputs.account",
    }
    inputs = [{"type": "WorkflowParameter", "name": "api_key"}, {"type": "WorkflowParameter", "name": "account"}]
    # The engine checks the input against the manifest's field before the step runs.
    with pytest.raises(RuntimeInputError, match="cloudflare_account_id") as refused:
        run_workflow(single_step_workflow(step, inputs), {"image": make_image(8, 8), "api_key": cloudflare.token, "account": account})
    assert "32 hexadecimal characters" in str(refused.value.inner_error)
    assert cloudflare.server.requests == []


# --- Through `llama-vision serve`'s app ---------------------------------------------


def _post(server, step):
    spec = single_step_workflow(step, [{"type": "WorkflowParameter", "name": "api_key"}, {"type": "WorkflowParameter", "name": "base_url"}])
    jpeg = base64.b64encode(cv2.imencode(".jpg", make_image(8, 8))[1].tobytes()).decode()
    body = {"specification": spec, "inputs": {"image": {"type": "base64", "value": jpeg}, "api_key": KEY, "base_url": step.get("base_url")}}
    response = httpx.post(f"{server}/workflows/run", json=body, timeout=120)
    return response.status_code, response.text


def test_serve_gives_callers_no_way_to_probe_the_servers_disk_devices_or_network():
    internal = _internal_service()
    local = {
        "type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption",
        "model_version": "11B - Local GPU (transformers)", "api_key": "$inputs.api_key",
    }
    probes = ["/etc/passwd", "/etc", "/root/.ssh", "/no/such/folder", "/proc/self"]
    try:
        with running_server() as server:
            answers = [_post(server, {**local, "model_path": path}) for path in probes]
            device = _post(server, {**local, "device": "cpu"})
            network = _post(server, _compatible_step(base_url=f"{internal.origin}/v1"))
    finally:
        internal.stop()
    statuses = {status for status, _ in answers}
    assert statuses == {403}  # the caller's mistake, not a server fault (clients retry 500s)
    assert device[0] == network[0] == 403
    for (status, text), path in zip(answers, probes):
        assert MODEL_ROOTS_ENV in text
        assert path not in text, text
    # The same answer whatever the path: nothing tells what exists.
    assert len({text.replace(path, "") for (_, text), path in zip(answers, probes)}) == 1
    assert ALLOWED_DEVICES_ENV in device[1]
    assert ALLOWED_BASE_URLS_ENV in network[1]
    assert internal.requests == []


def test_serve_answers_a_refused_base_url_with_403_and_one_log_line(tmp_path):
    internal = _internal_service()
    log = tmp_path / "server.log"
    try:
        with running_server(log_file=log) as server:
            status, text = _post(server, _compatible_step(base_url=f"{internal.origin}/v1"))
            wrong = _post(server, {**_compatible_step(base_url=f"{internal.origin}/v1"), "base_url": "ftp://x/v1"})
            server_log = log.read_text()
    finally:
        internal.stop()
    assert status == 403 and ALLOWED_BASE_URLS_ENV in text
    assert "`base_url` is not one of the servers this server's operator allows" in text
    assert wrong[0] == 400 and "must be an HTTP(S) URL" in wrong[1]
    # One log entry per refused request, no traceback (inference's console handler
    # wraps a long entry over several lines).
    assert "Traceback" not in server_log and "File \"" not in server_log
    assert server_log.count("ClientCausedStepExecutionErro") == 2, server_log
    assert internal.requests == []
