"""Loading the plugin into inference's ExecutionEngine, and images into workflow inputs."""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass
from typing import Any, Dict

from llama_vision_block.cli.errors import CliError

PLUGIN = "llama_vision_block"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# One compilation at a time. inference's first import, run from two threads at once,
# can hand one of them a half-initialised module (its packages import each other in
# cycles); and its block loader caches the core blocks with lru_cache, so two threads
# loading blocks for the first time build two lists, of which the plugin takes the
# seed type's core block out of the cached one only: the other thread then sees the
# type twice. Compiling is quick once loaded; the lock costs nothing that matters.
_COMPILING = threading.Lock()


def enable_plugin() -> None:
    """Adds this plugin to $WORKFLOWS_PLUGINS (read when the engine loads blocks)."""
    plugins = [p for p in os.environ.get("WORKFLOWS_PLUGINS", "").split(",") if p]
    if PLUGIN not in plugins:
        os.environ["WORKFLOWS_PLUGINS"] = ",".join([*plugins, PLUGIN])


def compile_workflow(definition: Dict[str, Any]) -> Any:
    """An ExecutionEngine for the workflow, steps run in this process."""
    enable_plugin()
    with _COMPILING:
        from inference.core.workflows.core_steps.common.entities import StepExecutionMode
        from inference.core.workflows.execution_engine.core import ExecutionEngine

        return ExecutionEngine.init(
            workflow_definition=definition,
            init_parameters={
                "workflows_core.model_manager": None,
                "workflows_core.api_key": None,
                "workflows_core.step_execution_mode": StepExecutionMode.LOCAL,
            },
        )


@dataclass
class LoadedImage:
    """An image file: its decoded pixels and the file's bytes as base64."""

    path: str
    pixels: Any  # np.ndarray, BGR
    encoded: str

    @property
    def workflow_input(self) -> Dict[str, Any]:
        # The file's own bytes, so a JPEG within max_image_side is sent as it is.
        return {"type": "base64", "value": self.encoded}


def load_image(path: str) -> LoadedImage:
    """Reads and decodes an image file; CliError when it cannot."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise CliError(f"cannot read image {path!r}: {error.strerror or error}") from None
    import cv2  # here, not at import: `llama-vision --help` stays light
    import numpy as np

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if pixels is None:
        raise CliError(f"cannot decode image {path!r}: not an image file cv2 can read")
    return LoadedImage(path=path, pixels=pixels, encoded=base64.b64encode(data).decode("ascii"))


def collect_images(sources: list) -> list:
    """Image files from files and folders (a folder's images by extension, sorted)."""
    paths = []
    for source in sources:
        if os.path.isdir(source):
            names = sorted(
                name
                for name in os.listdir(source)
                if name.lower().endswith(IMAGE_EXTENSIONS)
                and os.path.isfile(os.path.join(source, name))
            )
            paths.extend(os.path.join(source, name) for name in names)
        elif os.path.isfile(source):
            paths.append(source)
        else:
            raise CliError(f"no such file or folder: {source!r}")
    return paths
