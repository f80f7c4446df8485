"""Llama 3.2 Vision for Roboflow Workflows: load with `WORKFLOWS_PLUGINS=llama_vision_block`."""

from __future__ import annotations

from typing import List, Type

from llama_vision_block.block import LlamaVisionBlockV1
from llama_vision_block.compat import displace_core_block
from llama_vision_block.manifest import BLOCK_TYPE, SEED_BLOCK_TYPE, BlockManifest

__version__ = "0.1.0"


def load_blocks() -> List[Type[LlamaVisionBlockV1]]:
    """The plugin's blocks; called by inference's block loader.

    Also takes `roboflow_core/llama_3_2_vision@v1` over from inference's
    deprecated core block (see `compat.py`), so seed workflows run this block.
    """
    displace_core_block()
    return [LlamaVisionBlockV1]


__all__ = [
    "BLOCK_TYPE",
    "SEED_BLOCK_TYPE",
    "BlockManifest",
    "LlamaVisionBlockV1",
    "load_blocks",
    "__version__",
]
