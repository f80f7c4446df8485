"""The bounded client cache: least recently used clients close once no request uses them."""

from llama_vision_block.providers.remote.clients import ClientCache, client_key


class Client:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_past_the_bound_the_least_recently_used_client_is_closed():
    cache = ClientCache(max_clients=2)
    made = {}
    for name in ("a", "b", "a", "c"):
        with cache.lease(name, lambda: made.setdefault(name, Client())):
            pass
    assert len(cache) == 2
    assert made["b"].closed and not made["a"].closed and not made["c"].closed


def test_a_client_in_use_closes_only_when_its_request_ends():
    cache = ClientCache(max_clients=1)
    busy = Client()
    with cache.lease("busy", lambda: busy):
        with cache.lease("other", Client):
            pass
        assert not busy.closed  # evicted, but a request still uses it
    assert busy.closed


def test_keys_are_not_part_of_the_cache_key():
    assert client_key("Ollama", "http://h:1/v1/") == client_key("Ollama", "http://h:1/v1")
