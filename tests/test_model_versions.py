import typing

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.model_versions import (
    MODEL_VARIANTS,
    ModelVariant,
    ModelVersion,
    resolve_model_version,
)


def test_seed_labels_map_to_openrouter_model_ids():
    assert {label: v.model for label, v in MODEL_VARIANTS.items()} == {
        "11B (Free) - OpenRouter": "meta-llama/llama-3.2-11b-vision-instruct:free",
        "11B (Regular) - OpenRouter": "meta-llama/llama-3.2-11b-vision-instruct",
        "90B (Free) - OpenRouter": "meta-llama/llama-3.2-90b-vision-instruct:free",
        "90B (Regular) - OpenRouter": "meta-llama/llama-3.2-90b-vision-instruct",
    }


def test_the_literal_offers_every_label():
    assert typing.get_args(ModelVersion) == tuple(MODEL_VARIANTS)


def test_resolve():
    assert resolve_model_version("90B (Regular) - OpenRouter") == ModelVariant(
        "openrouter", "meta-llama/llama-3.2-90b-vision-instruct"
    )


def test_unknown_label_lists_the_known_ones():
    with pytest.raises(ConfigurationError, match=r"`model_version` 'GPT' is not known; use one of: 11B \(Free\)"):
        resolve_model_version("GPT")
