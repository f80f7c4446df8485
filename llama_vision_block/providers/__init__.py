"""Model providers behind one `Backend` interface; one module per provider."""

from __future__ import annotations

from typing import Callable, Dict

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers import openrouter
from llama_vision_block.providers.base import Backend, ProviderSettings, VisionRequest

BACKEND_FACTORIES: Dict[str, Callable[[ProviderSettings], Backend]] = {
    "openrouter": openrouter.create_backend,
}


def create_backend(provider: str, settings: ProviderSettings) -> Backend:
    """Builds the backend of `provider` from the step's settings."""
    factory = BACKEND_FACTORIES.get(provider)
    if factory is None:
        raise ConfigurationError(f"no backend is registered for provider '{provider}'.")
    return factory(settings)


__all__ = ["Backend", "ProviderSettings", "VisionRequest", "create_backend"]
