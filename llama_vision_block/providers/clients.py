"""HTTP clients shared across step runs: one per (provider, base URL, key) per process.

Reusing a client keeps its connections alive between requests, runs and steps,
so only the first request to a server pays for the TCP (and TLS) handshake.
This cache is the package's one piece of process-wide state, on purpose.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Callable, Dict, Hashable, Mapping, Optional, Tuple, TypeVar

import httpx

T = TypeVar("T")

# Larger than any sensible max_concurrent_requests, so requests never queue for
# a connection; idle connections beyond the keep-alive count are closed.
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64)


class ClientCache:
    """Creates each client once, on first use, thread-safely."""

    def __init__(self) -> None:
        self._clients: Dict[Hashable, object] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, create: Callable[[], T]) -> T:
        """The client for `key`, created by `create` the first time."""
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = create()
            return client  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._clients)


CLIENTS = ClientCache()


def client_key(
    provider: str,
    base_url: str,
    api_key: Optional[str],
    headers: Optional[Mapping[str, str]] = None,
) -> Tuple[Hashable, ...]:
    """The cache key; holds a digest of the API key, never the key itself."""
    digest = hashlib.sha256(api_key.encode()).hexdigest() if api_key else None
    return (provider, base_url.rstrip("/"), digest, tuple(sorted((headers or {}).items())))
