"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions protocol.

It plays OpenRouter (or any OpenAI-compatible server) for the tests: it records
every request it receives and answers through a replaceable `responder`.
By default it answers with the size of the image it was sent, `"<w>x<h>"`, so a
test can tell which reply belongs to which image.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: Dict[str, str]
    body: Any

    def image(self) -> np.ndarray:
        """Decodes the image the request carried as a data URL."""
        url = next(
            part["image_url"]["url"]
            for message in self.body["messages"]
            if isinstance(message["content"], list)
            for part in message["content"]
            if part["type"] == "image_url"
        )
        header, encoded = url.split(",", 1)
        assert header == "data:image/jpeg;base64", header
        pixels = np.frombuffer(base64.b64decode(encoded), dtype=np.uint8)
        return cv2.imdecode(pixels, cv2.IMREAD_COLOR)


Reply = Tuple[int, Any]  # (HTTP status, JSON body)
Responder = Callable[[RecordedRequest], Reply]


def chat_completion(content: Optional[str], model: str = "test-model") -> Dict[str, Any]:
    """A chat-completions response body with one choice."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    }


def reply_with_image_size(request: RecordedRequest) -> Reply:
    height, width = request.image().shape[:2]
    return 200, chat_completion(f"{width}x{height}", model=request.body["model"])


@dataclass
class ChatServer:
    """Owns the server thread; `requests` holds what it received, in arrival order."""

    responder: Responder = reply_with_image_size
    requests: List[RecordedRequest] = field(default_factory=list)
    # When set, each request waits here until this many requests are in flight,
    # which proves the client runs that many at once.
    barrier: Optional[threading.Barrier] = None
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Optional[ThreadingHTTPServer] = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v1"

    def start(self) -> "ChatServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                recorded = RecordedRequest(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
                status, body = server._handle(recorded)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
