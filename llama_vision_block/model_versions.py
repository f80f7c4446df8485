"""The `model_version` labels the editor offers, what each one runs on, and the
operator's route for the OpenRouter labels.

OpenRouter no longer hosts Llama 3.2 Vision. Its labels stay, so workflow JSON
written for the seed block still compiles; the operator setting
`LLAMA_VISION_OPENROUTER_ROUTE` names a live label that every OpenRouter label
then runs as.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from dataclasses import dataclass
from typing import Dict, List, Literal, Set

from llama_vision_block.errors import ConfigurationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelVariant:
    """Where a `model_version` label runs: a provider and that provider's model id.

    `routed` is true when the step named an OpenRouter label and the operator's
    route sent it here instead.
    """

    provider: str
    model: str
    routed: bool = False


MODEL_VARIANTS: Dict[str, ModelVariant] = {
    # Withdrawn by OpenRouter; kept so seed workflows compile and can be routed.
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
    # Ollama's library names; `llama3.2-vision` is the 11B tag.
    "11B - Ollama": ModelVariant("ollama", "llama3.2-vision"),
    "90B - Ollama": ModelVariant("ollama", "llama3.2-vision:90b"),
    # For compatible servers the model is the default served name (vLLM's and
    # SGLang's); the step's `served_model_name` overrides it.
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
    "ollama": "Ollama",
    "openai-compatible": "OpenAI-compatible server",
    "local-transformers": "Local GPU (transformers)",
}
PROVIDERS_REQUIRING_API_KEY = frozenset({"openrouter", "cloudflare"})

ModelVersion = Literal[tuple(MODEL_VARIANTS)]  # type: ignore[valid-type]

# New steps run on the seed's own API, which still serves the model.
DEFAULT_MODEL_VERSION = "11B - Cloudflare Workers AI"
# A step of the seed type that names no model_version meant the seed's default,
# an OpenRouter label; it keeps that meaning, so the route applies to it.
SEED_DEFAULT_MODEL_VERSION = "11B (Free) - OpenRouter"

OPENROUTER_ROUTE_ENV = "LLAMA_VISION_OPENROUTER_ROUTE"

_logged_routes: Set[str] = set()
_log_lock = threading.Lock()


def live_labels() -> List[str]:
    """The labels of providers that serve Llama 3.2 Vision today (all but OpenRouter)."""
    return [label for label, v in MODEL_VARIANTS.items() if v.provider != "openrouter"]


def resolve_model_version(label: str) -> ModelVariant:
    """Looks up a `model_version` label, with an error that lists the valid ones.

    An OpenRouter label resolves to the operator's route when
    `$LLAMA_VISION_OPENROUTER_ROUTE` is set.
    """
    variant = _lookup(label, "`model_version`")
    if variant.provider != "openrouter":
        return variant
    route = os.environ.get(OPENROUTER_ROUTE_ENV, "").strip()
    if not route:
        return variant
    target = _lookup(route, f"${OPENROUTER_ROUTE_ENV}")
    _log_route_once(route)
    return dataclasses.replace(target, routed=True)


def _lookup(label: str, setting: str) -> ModelVariant:
    variant = MODEL_VARIANTS.get(label) if isinstance(label, str) else None
    if variant is None:
        raise ConfigurationError(
            f"{setting} '{label}' is not known; use one of: {', '.join(MODEL_VARIANTS)}."
        )
    return variant


def _log_route_once(route: str) -> None:
    with _log_lock:
        if route in _logged_routes:
            return
        _logged_routes.add(route)
    logger.info(
        "%s is set: steps whose model_version is an OpenRouter label run as '%s'.",
        OPENROUTER_ROUTE_ENV,
        route,
    )
