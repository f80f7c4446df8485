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
from llama_vision_block.families import LLAMA_32_VISION
from llama_vision_block.providers.registry import PROVIDERS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelVariant:
    """Where a `model_version` label runs: a provider and that provider's model id.

    `routed` is true when the step named an OpenRouter label and the operator's
    route sent it here instead.
    """

    provider: str
    model: str
    family: str = LLAMA_32_VISION  # its key in families.FAMILIES
    routed: bool = False


# Every provider's labels, in the registry's order.
MODEL_VARIANTS: Dict[str, ModelVariant] = {
    label: ModelVariant(spec.id, served.model, served.family)
    for spec in PROVIDERS.values()
    for label, served in spec.labels.items()
}
# Provider ids as used above -> the name errors and docs use.
PROVIDER_NAMES: Dict[str, str] = {spec.id: spec.name for spec in PROVIDERS.values()}
PROVIDERS_REQUIRING_API_KEY = frozenset(spec.id for spec in PROVIDERS.values() if spec.needs_key)

ModelVersion = Literal[tuple(MODEL_VARIANTS)]  # type: ignore[valid-type]

# New steps run on the seed's own API, which still serves the model.
DEFAULT_MODEL_VERSION = "11B - Cloudflare Workers AI"
# A step of the seed type that names no model_version meant the seed's default,
# an OpenRouter label; it keeps that meaning, so the route applies to it.
SEED_DEFAULT_MODEL_VERSION = "11B (Free) - OpenRouter"

# The operator's route for OpenRouter's labels, the one provider whose spec has one today.
OPENROUTER_ROUTE_ENV = PROVIDERS["openrouter"].route_env

_logged_routes: Set[str] = set()
_log_lock = threading.Lock()


def live_labels() -> List[str]:
    """The labels whose provider still serves their model (all but OpenRouter's
    Llama 3.2 Vision labels)."""
    return [label for spec in PROVIDERS.values() for label, served in spec.labels.items() if served.live]


def resolve_model_version(label: str) -> ModelVariant:
    """Looks up a `model_version` label, with an error that lists the valid ones.

    An OpenRouter label resolves to the operator's route when
    `$LLAMA_VISION_OPENROUTER_ROUTE` is set.
    """
    variant = _lookup(label, "`model_version`")
    route_env = PROVIDERS[variant.provider].route_env
    if route_env is None:
        return variant
    route = os.environ.get(route_env, "").strip()
    if not route:
        return variant
    target = _lookup(route, f"${route_env}")
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
