"""Servers a caller of a shared inference server could point the block at.

`TricklingServer` answers any request with a valid-looking reply, one byte at a
time, so that only a deadline on the whole attempt can end it; it records how many
bytes it got out before the client hung up. Started with an `ssl_context` (see
tls.py), a `ConnectionServer` speaks TLS: its `origin` is then https://.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

BODY = b'{"choices": [{"message": {"role": "assistant", "content": "' + b"x" * 2000 + b'"}}]}'


def read_request(connection: socket.socket) -> bytes:
    """The whole HTTP request on `connection`: its head, then `Content-Length` bytes of body.

    A server that answers after one `recv` may leave part of a large request
    unread (a loaded machine delivers it in pieces); closing such a socket makes
    the kernel reset the connection, and the client sees that instead of the reply.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class ConnectionServer:
    """A socket server on 127.0.0.1 that hands each connection to `handle`, on a
    thread of its own, until `stop`; given an `ssl_context`, each connection is TLS
    (the handshake done on that thread) before `handle` sees it."""

    _socket: socket.socket = None
    ssl_context: Optional[ssl.SSLContext] = None

    def start(self, ssl_context: Optional[ssl.SSLContext] = None):
        self.ssl_context = ssl_context
        self._socket = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def origin(self) -> str:
        host, port = self._socket.getsockname()
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}"

    def stop(self) -> None:
        self._socket.close()

    def handle(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        if self.ssl_context is not None:
            connection.settimeout(10)
            try:
                connection = self.ssl_context.wrap_socket(connection, server_side=True)
            except OSError:  # ssl.SSLError included: a client that hung up or distrusts us
                connection.close()
                return
            connection.settimeout(None)
        self.handle(connection)


@dataclass
class TricklingServer(ConnectionServer):
    interval_s: float = 0.05
    sent: List[int] = field(default_factory=list)  # bytes sent, per connection

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def full_reply_bytes(self) -> int:
        return len(self._reply())

    def _reply(self) -> bytes:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
        return head.encode() + BODY

    def handle(self, connection: socket.socket) -> None:
        sent = 0
        with connection:
            connection.settimeout(5)
            try:
                read_request(connection)  # all of it: closing on unread bytes resets the connection
                for byte in self._reply():
                    connection.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(self.interval_s)
            except OSError:
                pass  # the client hung up
        self.sent.append(sent)
