"""Llama 3.2 Vision for Roboflow Workflows: load with `WORKFLOWS_PLUGINS=llama_vision_block`.

Importing the package is light: the block, its manifest and `inference` are
imported when the engine calls `load_blocks()`, or when `BlockManifest` or
`LlamaVisionBlockV1` is first used.
"""

from __future__ import annotations

import importlib
from typing import Any, List

__version__ = "0.1.0"

from llama_vision_block.block_types import BLOCK_TYPE, SEED_BLOCK_TYPE

_LAZY = {"BlockManifest": "llama_vision_block.manifest", "LlamaVisionBlockV1": "llama_vision_block.block"}


def load_blocks() -> List[type]:
    """The plugin's blocks; called by inference's block loader.

    Also takes `roboflow_core/llama_3_2_vision@v1` over from inference's
    deprecated core block (see `compat.py`), so seed workflows run this block.
    """
    from llama_vision_block.block import LlamaVisionBlockV1
    from llama_vision_block.compat import displace_core_block

    displace_core_block()
    return [LlamaVisionBlockV1]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'llama_vision_block' has no attribute {name!r}")


__all__ = [
    "BLOCK_TYPE",
    "SEED_BLOCK_TYPE",
    "BlockManifest",
    "LlamaVisionBlockV1",
    "load_blocks",
    "__version__",
]
