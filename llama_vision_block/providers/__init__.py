"""Model providers behind one `Backend` interface; one module per provider.

A provider module has `create_backend(model, settings) -> Backend` and may have
`PARAMETER_NOTES`: sampling parameters it may not honour, each with the warning
logged (once per step run) when a step sets it.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Dict

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.model_versions import ModelVariant
from llama_vision_block.providers import (
    cloudflare,
    local_transformers,
    ollama,
    openai_compatible,
    openrouter,
)
from llama_vision_block.providers.base import (
    Backend,
    Generation,
    ProviderSettings,
    VisionRequest,
)

logger = logging.getLogger(__name__)

PROVIDER_MODULES: Dict[str, ModuleType] = {
    "openrouter": openrouter,
    "cloudflare": cloudflare,
    "ollama": ollama,
    "openai-compatible": openai_compatible,
    "local-transformers": local_transformers,
}


def create_backend(
    variant: ModelVariant, settings: ProviderSettings, generation: Generation
) -> Backend:
    """Builds the backend that runs `variant`, warning about parameters it may ignore."""
    module = PROVIDER_MODULES.get(variant.provider)
    if module is None:
        raise ConfigurationError(
            f"no backend is registered for provider '{variant.provider}'."
        )
    notes = getattr(module, "PARAMETER_NOTES", {})
    for name in generation.optional_parameters():
        if name in notes:
            logger.warning(notes[name])
    return module.create_backend(variant.model, settings)


__all__ = ["Backend", "Generation", "ProviderSettings", "VisionRequest", "create_backend"]
