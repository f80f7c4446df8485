"""Model providers behind one `Backend` interface; one module per provider."""

from __future__ import annotations

from typing import Callable, Dict

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.model_versions import ModelVariant
from llama_vision_block.providers import openrouter
from llama_vision_block.providers.base import (
    Backend,
    Generation,
    ProviderSettings,
    VisionRequest,
)

# provider name -> factory(model id, step settings); one module per provider.
BACKEND_FACTORIES: Dict[str, Callable[[str, ProviderSettings], Backend]] = {
    "openrouter": openrouter.create_backend,
}


def create_backend(variant: ModelVariant, settings: ProviderSettings) -> Backend:
    """Builds the backend that runs `variant`, from the step's settings."""
    factory = BACKEND_FACTORIES.get(variant.provider)
    if factory is None:
        raise ConfigurationError(
            f"no backend is registered for provider '{variant.provider}'."
        )
    return factory(variant.model, settings)


__all__ = ["Backend", "Generation", "ProviderSettings", "VisionRequest", "create_backend"]
