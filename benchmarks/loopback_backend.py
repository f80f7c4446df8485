"""A chat-completions server for benchmarks: answers every request after a fixed delay.

Run as a subprocess (`python benchmarks/loopback_backend.py 0.2`); it prints its
port, answers POSTs with a short reply after the delay, and reports the bytes it
received per request at GET /stats (then forgets them).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LATENCY_S = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
received: list = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Real servers (uvicorn and anything on asyncio) set TCP_NODELAY. Without it,
    # http.server writes headers and body separately, Nagle holds the body back
    # until the client ACKs the headers, and the client delays that ACK by 40 ms:
    # every reply on a kept-alive connection would come ~40 ms late.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            received.append(len(body))
        time.sleep(LATENCY_S)
        self._send({
            "id": "bench", "object": "chat.completion", "created": 0, "model": "bench",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "A street."}, "finish_reason": "stop"}],
        })

    def do_GET(self) -> None:  # noqa: N802
        with lock:
            stats = list(received)
            received.clear()
        self._send({"request_bytes": stats})

    def _send(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()
