"""Ollama: `ollama pull llama3.2-vision`, then its OpenAI-compatible endpoint.

A default Ollama install listens on http://localhost:11434 and serves the 11B
model as `llama3.2-vision` (the 90B as `llama3.2-vision:90b`), so the label
"11B - Ollama" needs no other setting.
"""

from __future__ import annotations

import os

from llama_vision_block.providers.base import ProviderSettings
from llama_vision_block.providers.remote.openai_chat import OpenAIChatBackend
from llama_vision_block.providers.remote.openai_compatible import SERVER_SETTINGS, server_backend
from llama_vision_block.families import LLAMA_32_VISION, LLAMA_4
from llama_vision_block.providers.spec import Need, ProviderSpec, Served

NAME = "Ollama"

BASE_URL_ENV = "LLAMA_VISION_OLLAMA_BASE_URL"
DEFAULT_BASE_URL = "http://localhost:11434/v1"
# Ollama's /v1 endpoint reads neither; its native API has them as options.
PARAMETER_NOTES = {
    name: f"`{name}` is ignored by Ollama's OpenAI-compatible endpoint."
    for name in ("top_k", "repetition_penalty")
}


def create_backend(
    model: str, settings: ProviderSettings, family: str = LLAMA_32_VISION
) -> OpenAIChatBackend:
    """A backend for the Ollama server at `base_url`, else `$LLAMA_VISION_OLLAMA_BASE_URL`,
    else Ollama's default address (every family's request is the same chat request here)."""
    return server_backend(
        NAME, model, settings, os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL)
    )


SPEC = ProviderSpec(
    id="ollama",
    name=NAME,
    # Ollama's library names; `llama3.2-vision` is the 11B tag, `llama4:scout` Llama 4
    # Scout (17B active, 109B in all: it needs a large GPU or several).
    labels={
        "11B - Ollama": Served("llama3.2-vision"),
        "90B - Ollama": Served("llama3.2-vision:90b"),
        "Llama 4 Scout - Ollama": Served("llama4:scout", family=LLAMA_4),
    },
    create_backend=create_backend,
    address_env=BASE_URL_ENV,
    blurb="on your own machine, after `ollama pull llama3.2-vision`",
    constrains="Ollama",
    default_label="11B - Ollama",
    # Only its own variable: `--base-url` means a compatible server.
    needs=(Need(BASE_URL_ENV),),
    settings=SERVER_SETTINGS,
    setting_notes={
        "base_url": f"For Ollama it defaults to ${BASE_URL_ENV}, else {DEFAULT_BASE_URL}.",
        "served_model_name": "For Ollama it defaults to llama3.2-vision (llama3.2-vision:90b, llama4:scout).",
    },
    parameter_notes=PARAMETER_NOTES,
)
