"""Taking over the seed's type identifier from inference's core block."""

import functools
import types
from importlib import metadata

import pytest
from inference.core.workflows.execution_engine.introspection import blocks_loader

from llama_vision_block import BLOCK_TYPE, SEED_BLOCK_TYPE, LlamaVisionBlockV1
from llama_vision_block.compat import displace_core_block
from llama_vision_block.errors import IncompatibleInferenceError


def _blocks_answering_to(type_identifier):
    blocks = blocks_loader.describe_available_blocks(dynamic_blocks=[]).blocks
    return [
        block
        for block in blocks
        if type_identifier
        in [block.manifest_type_identifier, *block.manifest_type_identifier_aliases]
    ]


def test_installed_inference_ships_the_core_block_we_displace():
    # If this fails, inference no longer ships the clashing block: the displacement
    # (and this test) can go.
    from inference.core.workflows.core_steps.loader import load_blocks

    assert any(
        SEED_BLOCK_TYPE in getattr(b.get_manifest().model_fields["type"].annotation, "__args__", ())
        for b in load_blocks()
    )


def test_seed_identifier_resolves_to_this_plugin_only():
    (block,) = _blocks_answering_to(SEED_BLOCK_TYPE)
    assert block.block_class is LlamaVisionBlockV1
    assert block.manifest_type_identifier == BLOCK_TYPE
    assert block.block_source == "llama_vision_block"


def test_displacement_survives_the_loader_cache_being_cleared():
    blocks_loader.clear_caches()
    (block,) = _blocks_answering_to(SEED_BLOCK_TYPE)
    assert block.block_class is LlamaVisionBlockV1


def _stand_in_loader(load_core_workflow_blocks):
    return types.SimpleNamespace(load_core_workflow_blocks=load_core_workflow_blocks)


def _specs_with_core_block():
    from inference.core.workflows.core_steps.formatters.vlm_as_classifier import v2
    from inference.core.workflows.core_steps.models.foundation.llama_vision import v1

    return [
        types.SimpleNamespace(manifest_class=v2.BlockManifest),
        types.SimpleNamespace(manifest_class=v1.BlockManifest),
        types.SimpleNamespace(manifest_class=LlamaVisionBlockV1.get_manifest()),
    ]


def test_removes_only_the_core_block_from_a_cached_list():
    cached = functools.lru_cache()(_specs_with_core_block)
    displace_core_block(_stand_in_loader(cached))
    assert [spec.manifest_class.__module__ for spec in cached()] == [
        "roboflow_workflows.core_steps.formatters.vlm_as_classifier.v2",
        "llama_vision_block.manifest",
    ]


@pytest.mark.parametrize(
    "loader,reason",
    [
        (types.SimpleNamespace(), "its block loader no longer caches the core blocks"),
        (_stand_in_loader(lambda: []), "its block loader no longer caches the core blocks"),
        (_stand_in_loader(functools.lru_cache()(lambda: ())), "no longer kept in a list"),
    ],
)
def test_changed_internals_fail_with_the_inference_version(loader, reason):
    with pytest.raises(IncompatibleInferenceError) as caught:
        displace_core_block(loader)
    message = str(caught.value)
    assert reason in message
    assert f"inference {metadata.version('inference')}" in message
    assert "tested with inference >=1.8,<1.9" in message


def test_a_loader_that_rebuilds_its_list_is_detected():
    def rebuilds():
        return _specs_with_core_block()

    rebuilds.cache_info = lambda: None  # looks cached, but is not
    with pytest.raises(IncompatibleInferenceError, match="did not take effect"):
        displace_core_block(_stand_in_loader(rebuilds))
