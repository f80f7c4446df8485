"""The HTTP transport every provider uses: a deadline and a byte limit per attempt.

httpx's time limits apply to each network operation (one connect, one read), so a
server that sends one byte a second never trips them. Here every read, write and
connect of an attempt is cut to what is left of that attempt's deadline, and every
byte received counts against its reply limit, headers included. The budget lives in
a thread-local, set by `attempt()` around one request in the thread that sends it
(httpx's sync client does its I/O in the caller's thread); pooled connections read
the budget of whichever attempt is using them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit

import httpcore
import httpx

from llama_vision_block.errors import ProviderError, TransientProviderError, UnreachableError
from llama_vision_block.settings import int_setting

# Larger than any sensible max_concurrent_requests, so requests never queue for a
# connection; idle connections beyond the keep-alive count are closed.
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64)
MAX_REPLY_BYTES_ENV = "LLAMA_VISION_MAX_REPLY_BYTES"
# A reply of max_tokens (at most 8192) tokens is tens of KB of JSON; 8 MB leaves
# room for any honest server and keeps a hostile one from filling memory.
DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024


class ReplyTooLarge(Exception):
    """The server sent more bytes than the attempt's reply limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the reply is larger than {limit} bytes")
        self.limit = limit


@dataclass
class _Budget:
    deadline: float
    max_bytes: int
    received: int = 0


_current = threading.local()


def max_reply_bytes() -> int:
    """The byte limit of one reply: `$LLAMA_VISION_MAX_REPLY_BYTES`, else 8 MB."""
    return int_setting(MAX_REPLY_BYTES_ENV, DEFAULT_MAX_REPLY_BYTES, minimum=1024)


@contextlib.contextmanager
def attempt(timeout_s: float, max_bytes: Optional[int] = None) -> Iterator[None]:
    """Bounds the requests this thread sends inside the block: `timeout_s` for all of
    them together (connect, send, receive), and `max_bytes` received (by default
    `max_reply_bytes()`)."""
    previous = getattr(_current, "budget", None)
    limit = max_reply_bytes() if max_bytes is None else max_bytes
    _current.budget = _Budget(deadline=time.monotonic() + timeout_s, max_bytes=limit)
    try:
        yield
    finally:
        _current.budget = previous


def _remaining(timeout: Optional[float], error: type) -> Optional[float]:
    budget = getattr(_current, "budget", None)
    if budget is None:
        return timeout
    left = budget.deadline - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class _BudgetedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        data = self._stream.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))
        budget = getattr(_current, "budget", None)
        if budget is not None:
            budget.received += len(data)
            if budget.received > budget.max_bytes:
                raise ReplyTooLarge(budget.max_bytes)
        return data

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        self._stream.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: Optional[str] = None, timeout: Optional[float] = None) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, _remaining(timeout, httpcore.ConnectTimeout))
        return _BudgetedStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BudgetedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: Optional[float] = None, local_address: Optional[str] = None, socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _remaining(timeout, httpcore.ConnectTimeout), local_address, socket_options)
        return _BudgetedStream(stream)

    def connect_unix_socket(self, path: str, timeout: Optional[float] = None, socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, _remaining(timeout, httpcore.ConnectTimeout), socket_options)
        return _BudgetedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def failed_attempt(provider: str, error: BaseException, timeout_s: float, url: str) -> ProviderError:
    """The error for an attempt the transport ended (`error` is httpx's, or
    `ReplyTooLarge`): too large a reply, the deadline passed, or no connection."""
    if isinstance(error, ReplyTooLarge):
        return ProviderError(provider, str(error))
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):  # never connected at all
        return UnreachableError(provider, url)
    if isinstance(error, httpx.TimeoutException):
        return TransientProviderError(provider, f"no answer within {timeout_s} s (request_timeout)")
    return TransientProviderError(provider, f"the connection to {url} failed ({type(error).__name__})")


def can_connect(url: str, timeout_s: float) -> bool:
    """Whether a TCP connection to `url`'s host and port can be made within
    `timeout_s`, as the transport makes its own (directly, not through a proxy)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:  # refused, no such host, no answer in time
        return False


def budgeted_transport(limits: httpx.Limits = POOL_LIMITS) -> httpx.HTTPTransport:
    """An httpx transport whose connections honour `attempt()` budgets."""
    transport = httpx.HTTPTransport(limits=limits)
    # httpx takes no network backend, so its connection pool is rebuilt with ours
    # (the same settings httpx uses); tests/providers/test_transport.py checks it.
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_BudgetedBackend(),
    )
    return transport


def http_client(**kwargs: Any) -> httpx.Client:
    """An httpx client on the budgeted transport that never follows a redirect."""
    return httpx.Client(transport=budgeted_transport(), follow_redirects=False, **kwargs)
