"""inference's real HTTP server with this plugin, in a subprocess on 127.0.0.1.

`python tests/support/inference_server.py PORT` serves the app `llama-vision
serve` builds; `running_server()` starts it in a temporary working directory that
holds the (empty) landing-page folders the server mounts, with OFFLINE_MODE=true,
so it makes no outside calls, and stops it afterwards.
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
from typing import Iterator, Optional

STARTUP_LIMIT_S = 180


def serve(port: int) -> None:
    """The app `llama-vision serve` runs, under uvicorn."""
    import uvicorn

    from llama_vision_block.cli.serve import build_app

    uvicorn.run(build_app(offline=True), host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def running_server(log_file: Optional[Path] = None, **settings: str) -> Iterator[str]:
    """Yields the server's URL once it answers /info; `settings` are the operator's
    environment variables (the server starts closed to callers without them). The
    server's log goes to `log_file` when given."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        for static in ("inference/landing/out/static", "inference/landing/out/_next/static"):
            (Path(workdir) / static).mkdir(parents=True)
        log = open(log_file or Path(workdir) / "server.log", "w+")
        from llama_vision_block.cli.serve import OFFLINE_LATCH_ENV

        env = {**os.environ, "OFFLINE_MODE": "true", "WORKFLOWS_PLUGINS": "llama_vision_block", **settings}
        # inference publishes this process's offline decision for its children;
        # the server must make its own.
        env.pop(OFFLINE_LATCH_ENV, None)
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
