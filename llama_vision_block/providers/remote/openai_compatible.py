"""Any server that speaks OpenAI's chat API: vLLM, SGLang, llama.cpp, `transformers serve`."""

from __future__ import annotations

import os

from llama_vision_block.providers.base import ProviderSettings
from llama_vision_block.providers.remote.openai_chat import OpenAIChatBackend
from llama_vision_block.families import LLAMA_32_VISION, LLAMA_4
from llama_vision_block.providers.spec import Need, ProviderSpec, Served, StepSetting

NAME = "OpenAI-compatible server"
BASE_URL_ENV = "LLAMA_VISION_BASE_URL"
DEFAULT_BASE_URL = "http://localhost:8000/v1"  # where `vllm serve` listens

# The step properties that reach a server the user runs (Ollama's too).
SERVER_SETTINGS = (
    StepSetting(
        name="base_url",
        description="URL of the server, including /v1.",
        examples=("http://localhost:8000/v1", "$inputs.base_url"),
        guard="base_url",
    ),
    StepSetting(
        name="served_model_name",
        description="Model name the server expects.",
        examples=("meta-llama/Llama-3.2-11B-Vision-Instruct", "llama3.2-vision"),
    ),
)
# Sent in the request body, outside OpenAI's API; not every server reads them.
PARAMETER_NOTES = {
    "top_k": (
        "`top_k` is sent in the request body: vLLM, SGLang and llama.cpp honour it; "
        "Ollama's OpenAI-compatible endpoint ignores it."
    ),
    "repetition_penalty": (
        "`repetition_penalty` is sent in the request body: vLLM and SGLang honour it; "
        "llama.cpp (which calls it repeat_penalty) and Ollama's OpenAI-compatible "
        "endpoint ignore it."
    ),
}


def create_backend(
    model: str, settings: ProviderSettings, family: str = LLAMA_32_VISION
) -> OpenAIChatBackend:
    """A backend for the step's server; the API key is optional and sent when given
    (every family's request is the same chat request here)."""
    return server_backend(
        NAME,
        model,
        settings,
        os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL),
    )


def server_backend(
    provider: str, model: str, settings: ProviderSettings, default_base_url: str
) -> OpenAIChatBackend:
    """A chat backend for a server the user runs: the step's `base_url` (which the
    block has checked against the operator's settings) and `served_model_name` win
    over the defaults; the key is sent only when given."""
    base_url = settings.option("base_url")
    return OpenAIChatBackend(
        provider=provider,
        model=settings.option("served_model_name") or model,
        base_url=base_url or default_base_url,
        api_key=settings.api_key,
        timeout_s=settings.request_timeout,
    )


SPEC = ProviderSpec(
    id="openai-compatible",
    name=NAME,
    # The default served names (vLLM's and SGLang's); `served_model_name` overrides them.
    labels={
        "11B - OpenAI-compatible server": Served("meta-llama/Llama-3.2-11B-Vision-Instruct"),
        "90B - OpenAI-compatible server": Served("meta-llama/Llama-3.2-90B-Vision-Instruct"),
        "Llama 4 Scout - OpenAI-compatible server": Served("meta-llama/Llama-4-Scout-17B-16E-Instruct", LLAMA_4),
        "Llama 4 Maverick - OpenAI-compatible server": Served("meta-llama/Llama-4-Maverick-17B-128E-Instruct", LLAMA_4),
    },
    create_backend=create_backend,
    address_env=BASE_URL_ENV,
    blurb="your own server: vLLM up to 0.10.2, SGLang or `transformers serve`, at `base_url`",
    constrains="vLLM, SGLang",
    default_label="11B - OpenAI-compatible server",
    needs=(Need(BASE_URL_ENV, option="base_url"),),
    settings=SERVER_SETTINGS,
    setting_notes={
        "base_url": "For an OpenAI-compatible server (vLLM, SGLang, llama.cpp, "
        f"`transformers serve`) it defaults to ${BASE_URL_ENV}, else {DEFAULT_BASE_URL}.",
        "served_model_name": "For a compatible server it defaults to "
        "meta-llama/Llama-3.2-11B-Vision-Instruct (90B likewise), the name vLLM and "
        "SGLang serve.",
    },
    parameter_notes=PARAMETER_NOTES,
)
