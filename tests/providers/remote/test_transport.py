"""The transport's per-attempt budget: a deadline on everything, a limit on bytes."""

from urllib.parse import urlsplit

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


# --- Through the environment's proxy, to an https:// server: a CONNECT tunnel -------
#
# httpx (and httpcore's HTTPProxy) tunnel only https:// targets, so these tests serve
# TLS on 127.0.0.1 with a throwaway certificate that the client trusts as a user
# behind a corporate proxy trusts their CA: through SSL_CERT_FILE, which
# httpx.create_ssl_context() reads when BudgetedTransport is built.


@pytest.fixture
def https_proxy(proxy, monkeypatch):
    """The loopback proxy, named in HTTPS_PROXY only: the variable https:// targets go by."""
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    return proxy


@pytest.fixture
def trusted_certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1 (IP SAN), trusted through SSL_CERT_FILE."""
    from support.tls import self_signed_certificate

    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return certificate


@pytest.fixture
def https_trickler(trusted_certificate):
    server = TricklingServer(interval_s=0.02).start(ssl_context=trusted_certificate.server_context())
    yield server
    server.stop()


def _tunnel_to(origin: str) -> str:
    """What the proxy records for a tunnel to `origin` (https://127.0.0.1:PORT)."""
    return f"CONNECT {urlsplit(origin).netloc}"


def test_https_requests_go_through_the_proxys_connect_tunnel(https_proxy, trusted_certificate):
    answer = lambda request: (200, {"answer": 42})  # noqa: E731
    with serving(answer, ssl_context=trusted_certificate.server_context()) as server, http_client() as client:
        assert server.origin.startswith("https://127.0.0.1:")
        response = client.post(f"{server.origin}/v1/chat/completions", json={"question": 1})
        assert response.json() == {"answer": 42}
    port = urlsplit(server.origin).port
    assert https_proxy.targets == [f"CONNECT 127.0.0.1:{port}"]
    assert [(r.method, r.path, r.body) for r in server.requests] == [("POST", "/v1/chat/completions", {"question": 1})]


def test_through_the_tunnel_the_servers_certificate_is_still_checked(https_proxy, trusted_certificate, monkeypatch):
    # TLS runs end to end, client to server, inside the tunnel: without SSL_CERT_FILE
    # (httpx falls back to certifi's CAs) the throwaway certificate is refused.
    monkeypatch.delenv("SSL_CERT_FILE")
    answer = lambda request: (200, {"answer": 42})  # noqa: E731
    with serving(answer, ssl_context=trusted_certificate.server_context()) as server, http_client() as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.post(f"{server.origin}/v1/chat/completions", json={})
    assert https_proxy.targets == [_tunnel_to(server.origin)]
    assert server.requests == []


def test_through_the_tunnel_a_trickling_https_reply_still_ends_at_the_deadline(https_proxy, https_trickler):
    assert https_trickler.base_url.startswith("https://")
    with http_client() as client:
        # 2 s per read would never trip: a byte (one TLS record) comes every 20 ms.
        with attempt(timeout_s=0.5, max_bytes=1 << 20), pytest.raises(httpx.ReadTimeout):
            client.post(https_trickler.base_url, json={}, timeout=2)
    assert https_proxy.targets == [_tunnel_to(https_trickler.origin)]


def test_through_the_tunnel_the_byte_limit_holds(https_proxy, trusted_certificate):
    blob = lambda request: (200, {"blob": "x" * 100_000})  # noqa: E731
    with serving(blob, ssl_context=trusted_certificate.server_context()) as server, http_client() as client:
        with attempt(timeout_s=10, max_bytes=10_000), pytest.raises(ReplyTooLarge, match="larger than 10000 bytes"):
            client.post(f"{server.origin}/", json={})
        with attempt(timeout_s=10, max_bytes=1_000_000):
            assert len(client.post(f"{server.origin}/", json={}).json()["blob"]) == 100_000
    # The limit ended the first connection, tunnel and all; the second request had
    # to open a tunnel of its own rather than reuse a half-read one.
    assert https_proxy.targets == [_tunnel_to(server.origin)] * 2
    assert len(server.requests) == 2
