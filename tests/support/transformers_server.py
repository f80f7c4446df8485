"""`transformers serve`, Hugging Face's own OpenAI-compatible server, on 127.0.0.1.

It runs a checkpoint on the CPU and applies the checkpoint's chat template on the
server, as vLLM and SGLang do, so the block's compatible-server provider meets a
real server that enforces Meta's prompt rules (with the tiny checkpoint's template).
Started in process from Python: its console script depends on the installed
typer's version.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

STARTUP_TIMEOUT_S = 60


@dataclass(frozen=True)
class TransformersServer:
    base_url: str  # what a client is pointed at, /v1 included
    model: str  # the name the server answers to: the checkpoint directory


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def transformers_serve(checkpoint: Path) -> Iterator[TransformersServer]:
    """Serves `checkpoint` on a free loopback port until the block ends."""
    from transformers.cli.serve import Serve

    port = _free_port()
    serve = Serve(force_model=str(checkpoint), host="127.0.0.1", port=port, device="cpu", non_blocking=True)
    try:
        origin = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{origin}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not answer on {origin} within {STARTUP_TIMEOUT_S} s")
            time.sleep(0.05)
        yield TransformersServer(base_url=f"{origin}/v1", model=str(checkpoint))
    finally:
        serve.kill_server()
