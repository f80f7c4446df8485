import socket

import pytest

from llama_vision_block.errors import ProviderError
from llama_vision_block.images import encode_image
from llama_vision_block.prompts import Prompt
from llama_vision_block.providers.base import Generation, VisionRequest
from llama_vision_block.providers.remote.openai_chat import OpenAIChatBackend
from support.chat_server import ChatServer, chat_completion
from support.images import make_image

REQUEST_ARGS = dict(prompt=Prompt(text="hi"), generation=Generation(max_tokens=5, temperature=0.2))


def _complete(base_url):
    backend = OpenAIChatBackend(provider="Local", model="m", base_url=base_url, api_key=None, timeout_s=30)
    return backend.complete(VisionRequest(image=encode_image(make_image(4, 4)), **REQUEST_ARGS)).text


@pytest.fixture
def server():
    server = ChatServer().start()
    yield server
    server.stop()


def test_no_key_sends_no_authorization_header_not_even_openais(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-users-own-openai-key")
    assert _complete(server.base_url) == "4x4"
    assert "authorization" not in server.requests[0].headers


@pytest.mark.parametrize(
    "body,message",
    [
        ({"error": {"message": "Rate limit exceeded", "code": 429}}, "Local (HTTP 429): answered without a reply: Rate limit exceeded"),
        ({"id": "x", "object": "chat.completion"}, "Local: answered without a reply: no choices and no error message"),
        ({"id": "x", "choices": []}, "Local: answered without a reply: no choices and no error message"),
        (chat_completion(None), "Local: answered with an empty reply (no content)"),
    ],
)
def test_200_without_a_usable_reply_is_an_error(server, body, message):
    server.responder = lambda request: (200, body)
    with pytest.raises(ProviderError) as caught:
        _complete(server.base_url)
    assert str(caught.value) == message


def test_http_error_carries_the_providers_message(server):
    server.responder = lambda request: (404, {"error": {"message": "No endpoints found for m", "code": 404}})
    with pytest.raises(ProviderError) as caught:
        _complete(server.base_url)
    assert caught.value.status_code == 404
    assert str(caught.value) == "Local (HTTP 404): No endpoints found for m"


def test_nothing_listening_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderError, match=rf"Local: could not connect to http://127.0.0.1:{port}/v1"):
        _complete(f"http://127.0.0.1:{port}/v1")


def test_a_provider_behind_the_environments_proxy_is_reached_through_it(server, monkeypatch):
    from support.proxy import LoopbackProxy

    proxy = LoopbackProxy().start()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        assert _complete(server.base_url) == "4x4"
    finally:
        proxy.stop()
    assert proxy.targets == [f"POST {server.base_url}/chat/completions"]


def test_an_unsupported_proxy_is_an_error_that_names_the_setting_and_is_not_retried(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(ProviderError, match=r"Local: the proxy for .* failed: the proxy socks5:// of the environment is not supported") as caught:
        _complete(server.base_url)
    assert not caught.value.retryable and server.requests == []
