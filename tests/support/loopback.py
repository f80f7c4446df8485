"""A real HTTP server on 127.0.0.1 that records requests and answers through a responder.

The protocol lives in the responder (see chat_server.py, workers_ai.py), so one
server class plays every provider. Given an `ssl_context` (see tls.py) it serves
HTTPS instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: Dict[str, str]
    body: Any
    client_port: int = 0  # the same port twice means a kept-alive connection

    def image_bytes(self) -> bytes:
        """The image the request carried: Workers AI's byte list, or an OpenAI data URL."""
        if isinstance(self.body.get("image"), list):
            return bytes(self.body["image"])
        url = next(
            part["image_url"]["url"]
            for message in self.body["messages"]
            if isinstance(message["content"], list)
            for part in message["content"]
            if part["type"] == "image_url"
        )
        header, encoded = url.split(",", 1)
        assert header == "data:image/jpeg;base64", header
        return base64.b64decode(encoded)

    def image(self) -> np.ndarray:
        """The image the request carried, decoded."""
        return cv2.imdecode(np.frombuffer(self.image_bytes(), np.uint8), cv2.IMREAD_COLOR)


# (HTTP status, body) or (HTTP status, body, headers). A dict or list body is sent
# as JSON, a str as an HTML page (what a proxy sends).
Reply = Tuple[Any, ...]
Responder = Callable[[RecordedRequest], Reply]
# A responder returning this makes the server close the connection without answering.
DROP_CONNECTION = (None, None)


@dataclass
class LoopbackServer:
    """Owns the server thread; `requests` holds what it received, in arrival order."""

    responder: Responder
    requests: List[RecordedRequest] = field(default_factory=list)
    # When set, each request waits here until this many requests are in flight,
    # which proves the client runs that many at once.
    barrier: Optional[threading.Barrier] = None
    # 0: any free port; a port given is reused (a server that comes back).
    port: int = 0
    max_in_flight: int = 0
    # When set, the server speaks TLS with it (https:// in `origin`).
    ssl_context: Optional[ssl.SSLContext] = None
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Optional[ThreadingHTTPServer] = None

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}"

    def start(self) -> "LoopbackServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
            # TCP_NODELAY, as real servers set: otherwise a reply on a kept-alive
            # connection waits ~40 ms for a delayed ACK (Nagle's algorithm).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorded = RecordedRequest(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                    client_port=self.client_address[1],
                )
                reply = server._handle(recorded)
                if reply == DROP_CONNECTION:
                    self.close_connection = True
                    self.connection.shutdown(2)  # both directions: the client sees a reset
                    return
                status, body, headers = (*reply, {})[:3]
                if isinstance(body, str):
                    payload, content_type = body.encode(), "text/html"
                else:
                    payload, content_type = json.dumps(body).encode(), "application/json"
                headers = dict(headers)
                content_type = headers.pop("Content-Type", content_type)  # a responder may lie
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.ssl_context = self.ssl_context
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.barrier is not None:
                self.barrier.wait()
            return self.responder(request)
        except threading.BrokenBarrierError:
            return 500, {"error": {"message": "fewer concurrent requests than expected"}}
        finally:
            with self._lock:
                self._in_flight -= 1


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer, with TLS when `ssl_context` is set: each connection's
    handshake runs on that connection's thread (`finish_request`), so a client that
    connects and says nothing holds up only itself, never the accepting loop."""

    ssl_context: Optional[ssl.SSLContext] = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except OSError:  # ssl.SSLError included: a client that hung up or distrusts us
            return
        with tls:
            tls.settimeout(None)
            super().finish_request(tls, client_address)
            self.shutdown_request(tls)  # as socketserver ends a plain connection


@contextlib.contextmanager
def serving(responder: Responder, ssl_context: Optional[ssl.SSLContext] = None) -> Iterator[LoopbackServer]:
    """A started server for the duration of a `with` block; HTTPS given `ssl_context`."""
    server = LoopbackServer(responder=responder, ssl_context=ssl_context).start()
    try:
        yield server
    finally:
        server.stop()
