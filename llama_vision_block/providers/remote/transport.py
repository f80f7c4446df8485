"""The HTTP transport every provider uses: a deadline and a byte limit per attempt,
direct or through the environment's proxy.

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
from llama_vision_block.providers.remote.proxies import proxy_for, unsupported
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
    if isinstance(error, httpx.ProxyError):  # the environment's proxy: the operator's to fix
        return ProviderError(provider, f"the proxy for {url} failed: {error}")
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):  # never connected at all
        return UnreachableError(provider, url)
    if isinstance(error, httpx.TimeoutException):
        return TransientProviderError(provider, f"no answer within {timeout_s} s (request_timeout)")
    return TransientProviderError(provider, f"the connection to {url} failed ({type(error).__name__})")


def can_connect(url: str, timeout_s: float) -> bool:
    """Whether a TCP connection can be made within `timeout_s` to where a request to
    `url` goes first: the environment's proxy for it, else `url`'s host and port."""
    parts = urlsplit(proxy_for(url) or url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:  # refused, no such host, no answer in time
        return False


# httpcore's errors and the httpx errors of the same name (both libraries' public
# classes), the more specific first.
_HTTPX_ERRORS = tuple(
    (getattr(httpcore, name), getattr(httpx, name))
    for name in (
        "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "ConnectError", "ReadError",
        "WriteError", "ProxyError", "UnsupportedProtocol", "RemoteProtocolError", "LocalProtocolError",
        "NetworkError", "TimeoutException",
    )
)


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as error:  # noqa: BLE001 - re-raised, as httpx's class where there is one
        for core, mapped in _HTTPX_ERRORS:
            if isinstance(error, core):
                raise mapped(str(error), request=request) from error
        raise


class _ResponseBody(httpx.SyncByteStream):
    def __init__(self, stream: Any, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors(self._request):
            yield from self._stream

    def close(self) -> None:
        self._stream.close()


class BudgetedTransport(httpx.BaseTransport):
    """An httpx transport whose connections honour `attempt()` budgets, made directly
    or through the environment's proxy (`proxies.py`) as a plain httpx client would:
    httpx turns its own environment proxies off for a client given a transport, so
    this one reads them itself. It speaks through httpcore's public pools, each with
    the budgeted network backend, so the deadline, the byte limit and the refusal to
    follow redirects (the client's) hold through a proxy too."""

    def __init__(self, limits: httpx.Limits = POOL_LIMITS) -> None:
        self._limits = limits
        self._ssl_context = httpx.create_ssl_context()
        self._direct = self._pool()
        self._through: dict = {}  # proxy URL -> its pool
        self._lock = threading.Lock()

    def _pool(self, proxy: Optional[str] = None) -> Any:
        settings = dict(
            ssl_context=self._ssl_context,
            max_connections=self._limits.max_connections,
            max_keepalive_connections=self._limits.max_keepalive_connections,
            keepalive_expiry=self._limits.keepalive_expiry,
            network_backend=_BudgetedBackend(),
        )
        if proxy is None:
            return httpcore.ConnectionPool(**settings)
        return httpcore.HTTPProxy(proxy_url=proxy, **settings)

    def _pool_for(self, url: httpx.URL, request: httpx.Request) -> Any:
        proxy = proxy_for(str(url))
        if proxy is None:
            return self._direct
        problem = unsupported(proxy)
        if problem:
            raise httpx.ProxyError(problem, request=request)
        with self._lock:
            if proxy not in self._through:
                self._through[proxy] = self._pool(proxy)
            return self._through[proxy]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool_for(request.url, request)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors(request):
            response = pool.handle_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseBody(response.stream, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._direct.close()
        for pool in self._through.values():
            pool.close()


def budgeted_transport(limits: httpx.Limits = POOL_LIMITS) -> BudgetedTransport:
    """An httpx transport whose connections honour `attempt()` budgets, proxies included."""
    return BudgetedTransport(limits)


def http_client(**kwargs: Any) -> httpx.Client:
    """An httpx client on the budgeted transport that never follows a redirect."""
    return httpx.Client(transport=budgeted_transport(), follow_redirects=False, **kwargs)
