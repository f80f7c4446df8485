"""inference's real HTTP server with this plugin, in a subprocess on 127.0.0.1.

`python tests/support/inference_server.py PORT` serves; `running_server()` starts
it in a temporary working directory (the server mounts its landing page from
./inference/landing/out, which only inference's Docker image ships) with
OFFLINE_MODE=true, so it makes no outside calls, and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

STARTUP_LIMIT_S = 180


def serve(port: int) -> None:
    import uvicorn
    from inference.core.interfaces.http.http_api import HttpInterface
    from inference.core.managers.base import ModelManager
    from inference.core.registries.roboflow import RoboflowModelRegistry
    from inference.models.utils import ROBOFLOW_MODEL_TYPES

    interface = HttpInterface(ModelManager(model_registry=RoboflowModelRegistry(ROBOFLOW_MODEL_TYPES)))
    uvicorn.run(interface.app, host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    """Yields the server's URL once it answers /info."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        for static in ("inference/landing/out/static", "inference/landing/out/_next/static"):
            (Path(workdir) / static).mkdir(parents=True)
        log = open(Path(workdir) / "server.log", "w+")
        env = {**os.environ, "OFFLINE_MODE": "true", "WORKFLOWS_PLUGINS": "llama_vision_block"}
        process = subprocess.Popen(
            [sys.executable, __file__, str(port)], cwd=workdir, env=env, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, process, log)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def _wait_until_up(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/info", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    log.seek(0)
    raise RuntimeError(f"inference server did not start at {url}:\n{log.read()[-3000:]}")


if __name__ == "__main__":
    serve(int(sys.argv[1]))
