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
