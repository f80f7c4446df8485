"""Ollama: `ollama pull llama3.2-vision`, then its OpenAI-compatible endpoint.

A default Ollama install listens on http://localhost:11434 and serves the 11B
model as `llama3.2-vision` (the 90B as `llama3.2-vision:90b`), so the label
"11B - Ollama" needs no other setting.
"""

from __future__ import annotations

import os

from llama_vision_block.model_versions import PROVIDER_NAMES
from llama_vision_block.providers.base import ProviderSettings
from llama_vision_block.providers.openai_chat import OpenAIChatBackend
from llama_vision_block.providers.openai_compatible import server_backend

BASE_URL_ENV = "LLAMA_VISION_OLLAMA_BASE_URL"
DEFAULT_BASE_URL = "http://localhost:11434/v1"
# Ollama's /v1 endpoint reads neither; its native API has them as options.
PARAMETER_NOTES = {
    name: f"`{name}` is ignored by Ollama's OpenAI-compatible endpoint."
    for name in ("top_k", "repetition_penalty")
}


def create_backend(model: str, settings: ProviderSettings) -> OpenAIChatBackend:
    """A backend for the Ollama server at `base_url`, else `$LLAMA_VISION_OLLAMA_BASE_URL`,
    else Ollama's default address."""
    return server_backend(
        PROVIDER_NAMES["ollama"], model, settings, os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL)
    )
