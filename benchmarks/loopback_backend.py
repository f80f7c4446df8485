"""A chat-completions server for benchmarks: answers every request after a fixed delay.

Run as a subprocess (`python benchmarks/loopback_backend.py 0.2`, or `start()` from
a benchmark); it prints its port, answers POSTs with a short reply after the delay, and reports what it saw
at GET /stats (then forgets it): the bytes received per request, how many
requests it served and turned away, and the most it served at once.

With `--limit N` it serves at most N requests at a time, as a hosted provider
limits an account, and turns the rest away with 429 and `Retry-After`
(`--retry-after`, seconds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Tuple

REPLY = {
    "id": "bench", "object": "chat.completion", "created": 0, "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "A street."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23},
}


def start(latency_s: float, *options: str) -> Tuple[subprocess.Popen, str]:
    """This server in a subprocess (`options`: --limit N, --retry-after S): the
    process, to terminate, and its origin."""
    process = subprocess.Popen([sys.executable, __file__, str(latency_s), *options], stdout=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{int(process.stdout.readline())}"


def stats(origin: str) -> dict:
    """What the server saw since the last call (GET /stats)."""
    with urllib.request.urlopen(f"{origin}/stats") as response:
        return json.loads(response.read())


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.request_bytes: list = []
        self.served = self.rejected = self.serving = self.peak = 0

    def take(self) -> dict:
        with self.lock:
            stats = {"request_bytes": self.request_bytes, "served": self.served,
                     "rejected": self.rejected, "peak": self.peak}
            self.request_bytes = []
            self.served = self.rejected = self.peak = 0
            return stats


def handler(latency_s: float, limit: int, retry_after: str, counts: Counts) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Real servers (uvicorn and anything on asyncio) set TCP_NODELAY. Without it,
        # http.server writes headers and body separately, Nagle holds the body back
        # until the client ACKs the headers, and the client delays that ACK by 40 ms:
        # every reply on a kept-alive connection would come ~40 ms late.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with counts.lock:
                counts.request_bytes.append(len(body))
                if limit and counts.serving >= limit:
                    counts.rejected += 1
                    turned_away = True
                else:
                    counts.serving += 1
                    counts.peak = max(counts.peak, counts.serving)
                    turned_away = False
            if turned_away:
                self._send({"error": {"message": "Too many requests in flight", "code": 429}}, 429, retry_after)
                return
            time.sleep(latency_s)
            with counts.lock:  # done before the reply leaves: the client may send its next at once
                counts.serving -= 1
                counts.served += 1
            self._send(REPLY)

        def do_GET(self) -> None:  # noqa: N802
            self._send(counts.take())

        def _send(self, payload: dict, status: int = 200, retry_after: str = "") -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # hundreds of clients connect at once under load


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("latency", type=float, nargs="?", default=0.2, help="seconds before each answer")
    parser.add_argument("--limit", type=int, default=0, help="requests served at once (0: no limit)")
    parser.add_argument("--retry-after", default="1", help="Retry-After sent with a 429")
    arguments = parser.parse_args()
    server = Server(("127.0.0.1", 0), handler(arguments.latency, arguments.limit, arguments.retry_after, Counts()))
    print(server.server_address[1], flush=True)
    server.serve_forever()
