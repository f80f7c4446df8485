import typing

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.model_versions import (
    MODEL_VARIANTS,
    PROVIDER_NAMES,
    ModelVariant,
    ModelVersion,
    resolve_model_version,
)


def test_labels_map_to_provider_and_model():
    assert {label: (v.provider, v.model) for label, v in MODEL_VARIANTS.items()} == {
        "11B (Free) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-11b-vision-instruct:free"),
        "11B (Regular) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-11b-vision-instruct"),
        "90B (Free) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-90b-vision-instruct:free"),
        "90B (Regular) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-90b-vision-instruct"),
        "11B - Cloudflare Workers AI": ("cloudflare", "@cf/meta/llama-3.2-11b-vision-instruct"),
        "11B - OpenAI-compatible server": ("openai-compatible", "meta-llama/Llama-3.2-11B-Vision-Instruct"),
        "90B - OpenAI-compatible server": ("openai-compatible", "meta-llama/Llama-3.2-90B-Vision-Instruct"),
        "11B - Local GPU (transformers)": ("local-transformers", "meta-llama/Llama-3.2-11B-Vision-Instruct"),
        "90B - Local GPU (transformers)": ("local-transformers", "meta-llama/Llama-3.2-90B-Vision-Instruct"),
    }


def test_every_provider_has_a_name_and_a_backend():
    from llama_vision_block.providers import PROVIDER_MODULES

    providers = {v.provider for v in MODEL_VARIANTS.values()}
    assert providers <= set(PROVIDER_NAMES) and providers <= set(PROVIDER_MODULES)


def test_the_literal_offers_every_label():
    assert typing.get_args(ModelVersion) == tuple(MODEL_VARIANTS)


def test_resolve():
    assert resolve_model_version("90B (Regular) - OpenRouter") == ModelVariant(
        "openrouter", "meta-llama/llama-3.2-90b-vision-instruct"
    )


def test_unknown_label_lists_the_known_ones():
    with pytest.raises(ConfigurationError, match=r"`model_version` 'GPT' is not known; use one of: 11B \(Free\)"):
        resolve_model_version("GPT")
