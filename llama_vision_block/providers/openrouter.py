"""OpenRouter: Llama 3.2 Vision behind OpenRouter's OpenAI-compatible API."""

from __future__ import annotations

import os

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers.base import ProviderSettings
from llama_vision_block.providers.openai_chat import OpenAIChatBackend

BASE_URL_ENV = "OPENROUTER_BASE_URL"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# OpenRouter attributes traffic to the app named in this header.
APP_HEADERS = {"X-Title": "llama-vision-block"}


def create_backend(model: str, settings: ProviderSettings) -> OpenAIChatBackend:
    """An OpenRouter backend for `model`; the base URL comes from `OPENROUTER_BASE_URL`."""
    if not settings.api_key:
        raise ConfigurationError(
            "`api_key` is required for OpenRouter: pass your OpenRouter API key "
            "(https://openrouter.ai/keys), for example as `$inputs.api_key`."
        )
    return OpenAIChatBackend(
        provider="OpenRouter",
        model=model,
        base_url=os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL),
        api_key=settings.api_key,
        default_headers=APP_HEADERS,
    )
