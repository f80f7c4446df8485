"""A forward proxy on 127.0.0.1: plain HTTP requests in absolute form, and CONNECT tunnels.

It records where each request was headed (`targets`), so a test can tell that a
client went through it, and relays bytes both ways until either side closes.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import List
from urllib.parse import urlsplit

from support.hostile import ConnectionServer, read_request


@dataclass
class LoopbackProxy(ConnectionServer):
    targets: List[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.origin

    def handle(self, client: socket.socket) -> None:
        with client:
            request = read_request(client)
            if not request:
                return
            head, _, rest = request.partition(b"\r\n")
            method, target, version = head.decode("latin-1").split(" ", 2)
            self.targets.append(f"{method} {target}")
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=30)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:  # forward: ask the server for the path, the rest of the request as sent
                parts = urlsplit(target)
                upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=30)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                upstream.sendall(f"{method} {path} {version}\r\n".encode("latin-1") + rest)
            with upstream:
                _relay(client, upstream)


def _relay(one: socket.socket, other: socket.socket) -> None:
    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    backward = threading.Thread(target=pump, args=(other, one), daemon=True)
    backward.start()
    pump(one, other)
    backward.join(timeout=30)
