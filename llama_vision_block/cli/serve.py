"""`llama-vision serve`: inference's HTTP server with this plugin loaded."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from typing import Any, Dict, Iterator, Optional

from llama_vision_block.cli.engine import enable_plugin
from llama_vision_block.cli.errors import CliError

DESCRIPTION = "Start inference's HTTP server (no Docker) with this plugin loaded."
EPILOG = """examples:
  llama-vision serve
  llama-vision serve --host 0.0.0.0 --port 9001
  curl -X POST http://127.0.0.1:9001/workflows/run -H 'Content-Type: application/json' \\
      -d '{"specification": {...}, "inputs": {"image": {"type": "base64", "value": "..."}}}'

The server runs with OFFLINE_MODE=true unless --online is given: inference then never
calls the Roboflow API, and workflows are sent inline (POST /workflows/run).

Whoever POSTs a workflow is a caller the server does not trust, so the server starts
closed: a step may name only the servers you configured (LLAMA_VISION_BASE_URL,
LLAMA_VISION_OLLAMA_BASE_URL), no model path and no device, and inference's Custom
Python blocks are off (ALLOW_CUSTOM_PYTHON_EXECUTION_IN_WORKFLOWS=False). Each setting
you set yourself is kept as you set it:
  OPENAI_COMPATIBLE_ALLOWED_BASE_URLS=http://gpu-1:8000/v1,http://gpu-2:8000/v1   (or '*' for any)
  LLAMA_VISION_MODEL_ROOTS=/models          folders a step's model_path may lie in
  LLAMA_VISION_ALLOWED_DEVICES=cuda:0,cuda:1   devices a step may name
docs/security.md has every setting.
"""
# inference_models decides OFFLINE_MODE once per process and publishes the decision
# here, for child processes; a server started from such a process decides its own.
OFFLINE_LATCH_ENV = "_ROBOFLOW_INFERENCE_OFFLINE_MODE_AT_PROCESS_START"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help=DESCRIPTION, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9001, help="port to listen on (default 9001)")
    parser.add_argument("--online", action="store_true", help="do not force OFFLINE_MODE=true (use the environment's setting)")
    parser.set_defaults(handler=serve_command)


def prepare_environment(offline: bool = True) -> Dict[str, str]:
    """Sets WORKFLOWS_PLUGINS (and OFFLINE_MODE) for a server, and closes what callers
    may reach where the operator left it open (`access.closed_server_defaults`); do it
    before importing inference (importing this package does not). Returns the
    settings it closed."""
    from llama_vision_block.access import closed_server_defaults

    enable_plugin()
    if offline:
        os.environ["OFFLINE_MODE"] = "true"
        if "inference_models" not in sys.modules:
            os.environ.pop(OFFLINE_LATCH_ENV, None)
    closed = closed_server_defaults(os.environ)
    os.environ.update(closed)
    return closed


def offline_mode_in_effect() -> bool:
    """The OFFLINE_MODE inference decided on when it was imported in this process."""
    from inference_models.configuration import OFFLINE_MODE

    return bool(OFFLINE_MODE)


# HttpInterface mounts inference's landing page from these paths, relative to the
# working directory (they exist in inference's Docker image, not in a pip install).
LANDING_DIRS = ("inference/landing/out/static", "inference/landing/out/_next/static")


@contextlib.contextmanager
def _landing_page_dirs() -> Iterator[None]:
    """Runs the block in a directory where the landing page's folders exist (empty)."""
    if all(os.path.isdir(path) for path in LANDING_DIRS):
        yield
        return
    root = os.path.join(tempfile.gettempdir(), "llama-vision-landing")
    for path in LANDING_DIRS:
        os.makedirs(os.path.join(root, path), exist_ok=True)
    previous = os.getcwd()
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(previous)


def build_app(offline: Optional[bool] = None) -> Any:
    """inference's FastAPI app with this plugin's block; `offline=True` insists on OFFLINE_MODE."""
    prepare_environment(offline=bool(offline))
    if offline and not offline_mode_in_effect():
        raise CliError(
            "inference was imported before OFFLINE_MODE=true was set; set it in the "
            "environment before starting Python"
        )
    from inference.core.interfaces.http.http_api import HttpInterface
    from inference.core.managers.base import ModelManager
    from inference.core.registries.roboflow import RoboflowModelRegistry
    from inference.models.utils import ROBOFLOW_MODEL_TYPES

    from llama_vision_block.cli import server_errors

    server_errors.install()  # a caller's mistake is a 4xx, not a server fault
    model_manager = ModelManager(model_registry=RoboflowModelRegistry(ROBOFLOW_MODEL_TYPES))
    with _landing_page_dirs():
        return HttpInterface(model_manager).app


def serve_command(args: argparse.Namespace) -> int:
    offline = not args.online
    closed = prepare_environment(offline=offline)
    for name, value in closed.items():
        sys.stderr.write(f"llama-vision serve: {name}={value!r} (closed to callers; see --help)\n")
    if not args.debug:
        # transformers logs through its own handler, set when it is imported.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import uvicorn

    app = build_app(offline=offline)
    uvicorn.run(app, host=args.host, port=args.port)
    return 0
