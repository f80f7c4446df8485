"""The transport's per-attempt budget: a deadline on everything, a limit on bytes."""

import httpx
import pytest

from llama_vision_block.providers.remote.transport import ReplyTooLarge, attempt, http_client
from support.hostile import TricklingServer
from support.loopback import serving


@pytest.fixture
def trickler():
    server = TricklingServer(interval_s=0.02).start()
    yield server
    server.stop()


def test_a_reply_that_trickles_in_ends_at_the_attempts_deadline(trickler):
    with http_client() as client:
        # 2 s per read would never trip: a byte comes every 20 ms.
        with attempt(timeout_s=0.5, max_bytes=1 << 20), pytest.raises(httpx.ReadTimeout):
            client.post(trickler.base_url, json={}, timeout=2)


def test_without_an_attempt_only_httpx_limits_apply(trickler):
    trickler.interval_s = 0.0  # the whole reply at once
    with http_client() as client:
        assert client.post(trickler.base_url, json={}, timeout=2).json()["choices"]


def test_bytes_past_the_limit_end_the_attempt():
    with serving(lambda request: (200, {"blob": "x" * 100_000})) as server, http_client() as client:
        with attempt(timeout_s=10, max_bytes=10_000), pytest.raises(ReplyTooLarge, match="larger than 10000 bytes"):
            client.post(f"{server.origin}/", json={})
        with attempt(timeout_s=10, max_bytes=1_000_000):
            assert len(client.post(f"{server.origin}/", json={}).json()["blob"]) == 100_000


def test_redirects_are_not_followed():
    with serving(lambda request: (302, "", {"Location": "http://127.0.0.1:9/elsewhere"})) as server, http_client() as client:
        response = client.post(f"{server.origin}/", json={})
    assert response.status_code == 302 and len(server.requests) == 1


# --- Through the environment's proxy ------------------------------------------------


@pytest.fixture
def proxy(monkeypatch):
    from support.proxy import LoopbackProxy

    running = LoopbackProxy().start()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", running.url)
    yield running
    running.stop()


def test_requests_go_through_the_environments_proxy_as_a_plain_httpx_clients_do(proxy):
    # Before: a client given our transport ignored HTTP(S)_PROXY, so behind a
    # corporate proxy no provider could be reached.
    with serving(lambda request: (200, {"answer": 42})) as server, http_client() as client:
        assert client.post(f"{server.origin}/v1/chat/completions", json={}).json() == {"answer": 42}
    assert proxy.targets == [f"POST {server.origin}/v1/chat/completions"]
    assert len(server.requests) == 1


def test_through_the_proxy_a_trickling_reply_still_ends_at_the_deadline(proxy, trickler):
    with http_client() as client:
        with attempt(timeout_s=0.5, max_bytes=1 << 20), pytest.raises(httpx.ReadTimeout):
            client.post(trickler.base_url, json={}, timeout=2)
    assert proxy.targets == [f"POST {trickler.base_url}"]


def test_through_the_proxy_the_byte_limit_and_no_redirects_hold(proxy):
    with serving(lambda request: (200, {"blob": "x" * 100_000})) as server, http_client() as client:
        with attempt(timeout_s=10, max_bytes=10_000), pytest.raises(ReplyTooLarge):
            client.post(f"{server.origin}/", json={})
    with serving(lambda request: (302, "", {"Location": "http://127.0.0.1:9/elsewhere"})) as server, http_client() as client:
        assert client.post(f"{server.origin}/", json={}).status_code == 302
    assert len(server.requests) == 1


def test_no_proxy_sends_a_host_direct(proxy, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    with serving(lambda request: (200, {"answer": 1})) as server, http_client() as client:
        assert client.post(f"{server.origin}/", json={}).json() == {"answer": 1}
    assert proxy.targets == []


def test_an_unsupported_proxy_is_named(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    with http_client() as client, pytest.raises(httpx.ProxyError, match="socks5:// of the environment is not supported"):
        client.post("http://127.0.0.1:9/v1", json={})
