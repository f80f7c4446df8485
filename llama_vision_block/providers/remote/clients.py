"""HTTP clients shared across step runs: one per (provider, base URL) per process.

Reusing a client keeps its connections alive between requests, runs and steps,
so only the first request to a server pays for the TCP (and TLS) handshake. Keys
are not part of a client (each request carries its own Authorization header), so
callers with different keys share one client per server.

The cache is bounded: past `$LLAMA_VISION_MAX_HTTP_CLIENTS` clients the least
recently used one is dropped and closed, once no request is using it. This cache is
the package's one piece of process-wide HTTP state, on purpose.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from typing import Any, Callable, Dict, Hashable, Iterator, List, Tuple

from llama_vision_block.settings import int_setting

MAX_CLIENTS_ENV = "LLAMA_VISION_MAX_HTTP_CLIENTS"
DEFAULT_MAX_CLIENTS = 32


class _Entry:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.leases = 0
        self.evicted = False


class ClientCache:
    """Creates each client once, on first use, thread-safely; keeps at most
    `max_clients` (default: `$LLAMA_VISION_MAX_HTTP_CLIENTS`, else 32)."""

    def __init__(self, max_clients: int = 0) -> None:
        self._max = max_clients
        self._entries: "OrderedDict[Hashable, _Entry]" = OrderedDict()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lease(self, key: Hashable, create: Callable[[], Any]) -> Iterator[Any]:
        """The client for `key` (created by `create` the first time), kept open
        for the duration of the block even if it is evicted meanwhile."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(create())
            self._entries.move_to_end(key)
            entry.leases += 1
            to_close = self._evict()
        _close(to_close)
        try:
            yield entry.client
        finally:
            with self._lock:
                entry.leases -= 1
                done = entry.evicted and entry.leases == 0
            if done:
                _close([entry.client])

    def _evict(self) -> List[Any]:
        """Drops the least recently used entries past the bound; returns the clients
        that no request uses (the others close when their last lease ends)."""
        limit = self._max or max_clients()
        closable = []
        while len(self._entries) > limit:
            _, entry = self._entries.popitem(last=False)
            entry.evicted = True
            if entry.leases == 0:
                closable.append(entry.client)
        return closable

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Closes every client no request is using, and forgets them all."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), OrderedDict()
            for entry in entries:
                entry.evicted = True
        _close([entry.client for entry in entries if entry.leases == 0])


def max_clients() -> int:
    """The bound from `$LLAMA_VISION_MAX_HTTP_CLIENTS` (default 32)."""
    return int_setting(MAX_CLIENTS_ENV, DEFAULT_MAX_CLIENTS)


def _close(clients: List[Any]) -> None:
    for client in clients:
        client.close()


CLIENTS = ClientCache()


def client_key(provider: str, base_url: str, headers: Dict[str, str] = None) -> Tuple[Hashable, ...]:
    """The cache key: the provider, its base URL and any fixed headers; never a key."""
    return (provider, base_url.rstrip("/"), tuple(sorted((headers or {}).items())))
