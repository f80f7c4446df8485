"""Taking over `roboflow_core/llama_3_2_vision@v1` from inference's deprecated block.

`inference` ships a deprecated core block with the same type identifier as the
seed block. The engine refuses two blocks with one identifier, so when this
plugin is loaded it removes that core block from the engine's list of core
blocks. The list is built once per process by the block loader's cached
`load_core_workflow_blocks()`; the loader asks for it before it loads plugins
and concatenates it with the plugin blocks afterwards, so removing the entry
in place takes effect for the load in progress and every later one.

This relies on internals of `inference`; they are checked each time, and any
change ends in `IncompatibleInferenceError` naming the installed version,
never in the core block silently running instead of ours.
"""

from __future__ import annotations

import typing
from importlib import metadata
from types import ModuleType
from typing import Any, Optional

from llama_vision_block.errors import IncompatibleInferenceError
from llama_vision_block.manifest import SEED_BLOCK_TYPE, BlockManifest

TESTED_INFERENCE_VERSIONS = ">=1.8,<1.9"


def displace_core_block(loader: Optional[ModuleType] = None) -> None:
    """Removes inference's core block that answers to the seed's type identifier.

    `loader` is the engine's blocks-loader module; by default the installed one.
    """
    if loader is None:
        from inference.core.workflows.execution_engine.introspection import (
            blocks_loader as loader,
        )
    load_core_blocks = getattr(loader, "load_core_workflow_blocks", None)
    if load_core_blocks is None or not hasattr(load_core_blocks, "cache_info"):
        _incompatible("its block loader no longer caches the core blocks")
    core_blocks = load_core_blocks()
    if not isinstance(core_blocks, list):
        _incompatible("its core blocks are no longer kept in a list")
    core_blocks[:] = [
        spec for spec in core_blocks if not _declares_seed_type(spec)
    ]
    if any(_declares_seed_type(spec) for spec in load_core_blocks()):
        _incompatible("removing its core block did not take effect")


def _declares_seed_type(block_specification: Any) -> bool:
    manifest_class = getattr(block_specification, "manifest_class", None)
    if manifest_class is None:
        _incompatible("its block specifications no longer carry a manifest class")
    if manifest_class is BlockManifest:
        return False
    type_field = getattr(manifest_class, "model_fields", {}).get("type")
    if type_field is None:
        return False
    return SEED_BLOCK_TYPE in typing.get_args(type_field.annotation)


def _incompatible(reason: str) -> typing.NoReturn:
    try:
        version = metadata.version("inference")
    except metadata.PackageNotFoundError:
        version = "unknown"
    raise IncompatibleInferenceError(
        f"llama_vision_block cannot take over `{SEED_BLOCK_TYPE}` from inference "
        f"{version}: {reason}. This plugin is tested with inference "
        f"{TESTED_INFERENCE_VERSIONS}; install a version in that range "
        f"(pip install 'inference{TESTED_INFERENCE_VERSIONS}')."
    )
