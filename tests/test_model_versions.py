import logging
import typing

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.model_versions import (
    MODEL_VARIANTS,
    PROVIDER_NAMES,
    ModelVariant,
    ModelVersion,
    live_labels,
    resolve_model_version,
)

ROUTE = "LLAMA_VISION_OPENROUTER_ROUTE"


def test_labels_map_to_provider_and_model():
    assert {label: (v.provider, v.model) for label, v in MODEL_VARIANTS.items() if v.family == "llama-3.2-vision"} == {
        "11B (Free) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-11b-vision-instruct:free"),
        "11B (Regular) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-11b-vision-instruct"),
        "90B (Free) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-90b-vision-instruct:free"),
        "90B (Regular) - OpenRouter": ("openrouter", "meta-llama/llama-3.2-90b-vision-instruct"),
        "11B - Cloudflare Workers AI": ("cloudflare", "@cf/meta/llama-3.2-11b-vision-instruct"),
        "11B - Ollama": ("ollama", "llama3.2-vision"),
        "90B - Ollama": ("ollama", "llama3.2-vision:90b"),
        "11B - OpenAI-compatible server": ("openai-compatible", "meta-llama/Llama-3.2-11B-Vision-Instruct"),
        "90B - OpenAI-compatible server": ("openai-compatible", "meta-llama/Llama-3.2-90B-Vision-Instruct"),
        "11B - Local GPU (transformers)": ("local-transformers", "meta-llama/Llama-3.2-11B-Vision-Instruct"),
        "90B - Local GPU (transformers)": ("local-transformers", "meta-llama/Llama-3.2-90B-Vision-Instruct"),
    }


def test_the_labels_and_names_come_from_the_provider_registry():
    from llama_vision_block.providers.registry import PROVIDERS

    assert {v.provider for v in MODEL_VARIANTS.values()} == set(PROVIDERS) == set(PROVIDER_NAMES)
    for provider_id, spec in PROVIDERS.items():
        assert spec.id == provider_id and PROVIDER_NAMES[provider_id] == spec.name
        assert {label: (MODEL_VARIANTS[label].model, MODEL_VARIANTS[label].family) for label in spec.labels} == {
            label: (served.model, served.family) for label, served in spec.labels.items()
        }
        assert callable(spec.create_backend)


def test_the_literal_offers_every_label():
    assert typing.get_args(ModelVersion) == tuple(MODEL_VARIANTS)


def test_resolve():
    assert resolve_model_version("90B (Regular) - OpenRouter") == ModelVariant(
        "openrouter", "meta-llama/llama-3.2-90b-vision-instruct"
    )


def test_unknown_label_lists_the_known_ones():
    with pytest.raises(ConfigurationError, match=r"`model_version` 'GPT' is not known; use one of: 11B \(Free\)"):
        resolve_model_version("GPT")


@pytest.fixture
def no_route(monkeypatch):
    monkeypatch.delenv(ROUTE, raising=False)


def test_without_a_route_openrouter_labels_stay_on_openrouter(no_route):
    variant = resolve_model_version("11B (Free) - OpenRouter")
    assert (variant.provider, variant.routed) == ("openrouter", False)


@pytest.mark.parametrize("label", ["11B (Free) - OpenRouter", "11B (Regular) - OpenRouter", "90B (Free) - OpenRouter", "90B (Regular) - OpenRouter"])
def test_a_route_sends_every_openrouter_label_to_the_named_one(label, monkeypatch):
    monkeypatch.setenv(ROUTE, "11B - Ollama")
    assert resolve_model_version(label) == ModelVariant("ollama", "llama3.2-vision", routed=True)


def test_a_route_leaves_other_labels_alone(monkeypatch):
    monkeypatch.setenv(ROUTE, "11B - Ollama")
    assert resolve_model_version("90B - OpenAI-compatible server").routed is False


def test_an_unknown_route_names_the_variable(monkeypatch):
    monkeypatch.setenv(ROUTE, "GPT")
    with pytest.raises(ConfigurationError, match=r"\$LLAMA_VISION_OPENROUTER_ROUTE 'GPT' is not known; use one of"):
        resolve_model_version("11B (Free) - OpenRouter")


def test_the_route_in_force_is_logged_once_per_process(monkeypatch, caplog):
    route = "90B - Local GPU (transformers)"  # a route no other test uses
    monkeypatch.setenv(ROUTE, route)
    with caplog.at_level(logging.INFO, logger="llama_vision_block.model_versions"):
        for _ in range(3):
            resolve_model_version("11B (Free) - OpenRouter")
    assert [r.getMessage() for r in caplog.records] == [
        f"{ROUTE} is set: steps whose model_version is an OpenRouter label run as '{route}'."
    ]


def test_live_labels_leave_out_what_openrouter_withdrew():
    live = live_labels()
    assert not any(label.endswith(("(Free) - OpenRouter", "(Regular) - OpenRouter")) for label in live)
    assert "Llama 4 Scout - OpenRouter" in live and "11B - Cloudflare Workers AI" in live


def test_llama_4_labels_name_each_providers_exact_model_id():
    assert {label: (v.provider, v.model) for label, v in MODEL_VARIANTS.items() if v.family == "llama-4"} == {
        "Llama 4 Scout - OpenRouter": ("openrouter", "meta-llama/llama-4-scout"),
        "Llama 4 Maverick - OpenRouter": ("openrouter", "meta-llama/llama-4-maverick"),
        "Llama 4 Scout - Cloudflare Workers AI": ("cloudflare", "@cf/meta/llama-4-scout-17b-16e-instruct"),
        "Llama 4 Scout - Ollama": ("ollama", "llama4:scout"),
        "Llama 4 Scout - OpenAI-compatible server": ("openai-compatible", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
        "Llama 4 Maverick - OpenAI-compatible server": (
            "openai-compatible", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
        "Llama 4 Scout - Local GPU (transformers)": ("local-transformers", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
    }


def test_the_route_can_send_seed_steps_to_llama_4_on_openrouter_with_their_key(monkeypatch):
    monkeypatch.setenv(ROUTE, "Llama 4 Scout - OpenRouter")
    variant = resolve_model_version("11B (Free) - OpenRouter")
    assert (variant.provider, variant.model, variant.family, variant.routed) == (
        "openrouter", "meta-llama/llama-4-scout", "llama-4", True)
