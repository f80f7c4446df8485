"""The `model_version` labels the editor offers, and what each one runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Literal

from llama_vision_block.errors import ConfigurationError


@dataclass(frozen=True)
class ModelVariant:
    """Where a `model_version` label runs: a provider and that provider's model id."""

    provider: str
    model: str


MODEL_VARIANTS: Dict[str, ModelVariant] = {
    "11B (Free) - OpenRouter": ModelVariant(
        "openrouter", "meta-llama/llama-3.2-11b-vision-instruct:free"
    ),
    "11B (Regular) - OpenRouter": ModelVariant(
        "openrouter", "meta-llama/llama-3.2-11b-vision-instruct"
    ),
    "90B (Free) - OpenRouter": ModelVariant(
        "openrouter", "meta-llama/llama-3.2-90b-vision-instruct:free"
    ),
    "90B (Regular) - OpenRouter": ModelVariant(
        "openrouter", "meta-llama/llama-3.2-90b-vision-instruct"
    ),
    "11B - Cloudflare Workers AI": ModelVariant(
        "cloudflare", "@cf/meta/llama-3.2-11b-vision-instruct"
    ),
    # For compatible servers the model is the default served name (vLLM's);
    # the step's `served_model_name` overrides it.
    "11B - OpenAI-compatible server": ModelVariant(
        "openai-compatible", "meta-llama/Llama-3.2-11B-Vision-Instruct"
    ),
    "90B - OpenAI-compatible server": ModelVariant(
        "openai-compatible", "meta-llama/Llama-3.2-90B-Vision-Instruct"
    ),
    # In process: the checkpoint comes from the step's `model_path`; the model id
    # names it in messages.
    "11B - Local GPU (transformers)": ModelVariant(
        "local-transformers", "meta-llama/Llama-3.2-11B-Vision-Instruct"
    ),
    "90B - Local GPU (transformers)": ModelVariant(
        "local-transformers", "meta-llama/Llama-3.2-90B-Vision-Instruct"
    ),
}

# Provider ids as used above -> the name errors and docs use.
PROVIDER_NAMES: Dict[str, str] = {
    "openrouter": "OpenRouter",
    "cloudflare": "Cloudflare Workers AI",
    "openai-compatible": "OpenAI-compatible server",
    "local-transformers": "Local GPU (transformers)",
}
PROVIDERS_REQUIRING_API_KEY = frozenset({"openrouter", "cloudflare"})

ModelVersion = Literal[tuple(MODEL_VARIANTS)]  # type: ignore[valid-type]

DEFAULT_MODEL_VERSION = "11B (Free) - OpenRouter"


def resolve_model_version(label: str) -> ModelVariant:
    """Looks up a `model_version` label, with an error that lists the valid ones."""
    variant = MODEL_VARIANTS.get(label)
    if variant is None:
        raise ConfigurationError(
            f"`model_version` '{label}' is not known; use one of: "
            f"{', '.join(MODEL_VARIANTS)}."
        )
    return variant
