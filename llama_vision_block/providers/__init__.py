"""Model providers behind one `Backend` interface: the registry of provider specs.

Each provider module exports one `ProviderSpec` (`spec.py`) as `SPEC`; `PROVIDERS`
lists them, and everything that depends on a provider reads it from there.
Adding a provider is one module and one line below.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Dict

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers.remote import cloudflare, ollama, openai_compatible, openrouter
from llama_vision_block.providers.local import backend as local_backend
from llama_vision_block.providers.base import (
    Backend,
    Generation,
    ProviderSettings,
    VisionRequest,
)
from llama_vision_block.providers.spec import ProviderSpec

if TYPE_CHECKING:  # model_versions reads this registry
    from llama_vision_block.model_versions import ModelVariant

logger = logging.getLogger(__name__)

# In the order the editor lists their model versions.
PROVIDERS: Dict[str, ProviderSpec] = {
    spec.id: spec
    for spec in (
        openrouter.SPEC,
        cloudflare.SPEC,
        ollama.SPEC,
        openai_compatible.SPEC,
        local_backend.SPEC,
    )
}


def create_backend(
    variant: "ModelVariant", settings: ProviderSettings, generation: Generation
) -> Backend:
    """Builds the backend that runs `variant`, warning about parameters it may ignore."""
    spec = PROVIDERS.get(variant.provider)
    if spec is None:
        raise ConfigurationError(
            f"no backend is registered for provider '{variant.provider}'."
        )
    for name in generation.optional_parameters():
        if name in spec.parameter_notes:
            logger.warning(spec.parameter_notes[name])
    return spec.create_backend(variant.model, settings)


__all__ = ["PROVIDERS", "Backend", "Generation", "ProviderSettings", "ProviderSpec", "VisionRequest", "create_backend"]
