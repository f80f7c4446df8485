"""OpenRouter: Llama 3.2 Vision behind OpenRouter's OpenAI-compatible API."""

from __future__ import annotations

import os

from llama_vision_block.errors import ProviderError
from llama_vision_block.model_versions import MODEL_VARIANTS, PROVIDER_NAMES
from llama_vision_block.providers.base import (
    ProviderSettings,
    Reply,
    VisionRequest,
    require_api_key,
)
from llama_vision_block.providers.openai_chat import OpenAIChatBackend

BASE_URL_ENV = "OPENROUTER_BASE_URL"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# OpenRouter attributes traffic to the app named in this header.
APP_HEADERS = {"X-Title": "llama-vision-block"}
NAME = PROVIDER_NAMES["openrouter"]


class OpenRouterBackend(OpenAIChatBackend):
    """OpenAI chat transport, plus a clear answer when a variant was withdrawn."""

    def complete(self, request: VisionRequest) -> Reply:
        try:
            return super().complete(request)
        except ProviderError as error:
            if error.status_code != 404:
                raise
            raise ProviderError(
                NAME, _withdrawn_variant_message(self.model, error.provider_message), 404
            ) from None


def create_backend(model: str, settings: ProviderSettings) -> OpenRouterBackend:
    """An OpenRouter backend for `model`; the base URL comes from `OPENROUTER_BASE_URL`."""
    return OpenRouterBackend(
        provider=NAME,
        model=model,
        base_url=os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL),
        api_key=require_api_key("openrouter", settings),
        timeout_s=settings.request_timeout_s,
        default_headers=APP_HEADERS,
    )


def _withdrawn_variant_message(model: str, provider_message: str) -> str:
    # OpenRouter dropped the free and 90B variants the seed block offered.
    label = next((k for k, v in MODEL_VARIANTS.items() if v.model == model), model)
    alternatives = ", ".join(f"'{k}'" for k in MODEL_VARIANTS if k != label)
    return (
        f"model_version '{label}' ({model}) is no longer served by OpenRouter "
        f"({provider_message}). Choose another model_version: {alternatives}."
    )
