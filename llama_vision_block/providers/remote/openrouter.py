"""OpenRouter's OpenAI-compatible API, which no longer hosts Llama 3.2 Vision.

The labels remain so seed workflows compile; `LLAMA_VISION_OPENROUTER_ROUTE`
(`model_versions.py`) sends them to a live provider instead. A step that still
reaches OpenRouter gets OpenRouter's "this model is not served" answer turned
into one step-wide error that says what to do.
"""

from __future__ import annotations

import os
from typing import Any, Dict

from llama_vision_block.errors import ModelNotServed, ProviderError
from llama_vision_block.providers.base import (
    ProviderSettings,
    Reply,
    VisionRequest,
    require_api_key,
)
from llama_vision_block.providers.remote.openai_chat import OpenAIChatBackend
from llama_vision_block.families import LLAMA_32_VISION, LLAMA_4
from llama_vision_block.providers.spec import ProviderSpec, Served
from llama_vision_block.schemas import ResponseSchema

BASE_URL_ENV = "OPENROUTER_BASE_URL"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# OpenRouter attributes traffic to the app named in this header.
APP_HEADERS = {"X-Title": "llama-vision-block"}
NAME = "OpenRouter"
KEY_ENV = "OPENROUTER_API_KEY"
# The operator's route: a live model_version label every OpenRouter label runs as
# (model_versions.resolve_model_version reads it).
ROUTE_ENV = "LLAMA_VISION_OPENROUTER_ROUTE"
# How OpenRouter answers a model it does not serve: 400 "<id> is not a valid
# model ID" for an id it no longer knows, 404 "No endpoints found for <id>."
# for one it knows but no provider runs.
NOT_SERVED_MARKERS = ("is not a valid model id", "no endpoints found")
# The Llama 3.2 Vision labels and ids OpenRouter served until it withdrew them.
WITHDRAWN = {
    "11B (Free) - OpenRouter": "meta-llama/llama-3.2-11b-vision-instruct:free",
    "11B (Regular) - OpenRouter": "meta-llama/llama-3.2-11b-vision-instruct",
    "90B (Free) - OpenRouter": "meta-llama/llama-3.2-90b-vision-instruct:free",
    "90B (Regular) - OpenRouter": "meta-llama/llama-3.2-90b-vision-instruct",
}


class OpenRouterBackend(OpenAIChatBackend):
    """OpenAI chat transport, plus one clear error when the model is not served."""

    def complete(self, request: VisionRequest) -> Reply:
        try:
            return super().complete(request)
        except ProviderError as error:
            if not is_not_served(error) or self.model not in WITHDRAWN.values():
                raise
            raise ModelNotServed(
                NAME,
                not_served_message(self.model, error.provider_message),
                error.status_code,
            ) from None

    def refuses_schema(self, error: ProviderError) -> bool:
        return super().refuses_schema(error) and not is_not_served(error)

    def constrained_fields(self, constraint: ResponseSchema) -> Dict[str, Any]:
        fields = super().constrained_fields(constraint)
        if constraint.required:  # only to hosts that honour every field sent
            fields["provider"] = {"require_parameters": True}
        return fields


def create_backend(
    model: str, settings: ProviderSettings, family: str = LLAMA_32_VISION
) -> OpenRouterBackend:
    """An OpenRouter backend for `model`; the base URL comes from `OPENROUTER_BASE_URL`
    (every family's request is the same chat request here)."""
    return OpenRouterBackend(
        provider=NAME,
        model=model,
        base_url=os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL),
        api_key=require_api_key(NAME, settings),
        timeout_s=settings.request_timeout,
        default_headers=APP_HEADERS,
    )


def is_not_served(error: ProviderError) -> bool:
    """Whether OpenRouter's answer means it does not serve the requested model."""
    message = error.provider_message.lower()
    return error.status_code == 404 or (
        error.status_code == 400 and any(marker in message for marker in NOT_SERVED_MARKERS)
    )


def not_served_message(model: str, provider_message: str) -> str:
    """What to do about it; the block adds the live labels (`ModelNotServed.with_labels`)."""
    return (
        f"OpenRouter no longer hosts Llama 3.2 Vision ({model}: {provider_message}). "
        f"Set the environment variable {ROUTE_ENV} to one of the live "
        "model_version labels to run OpenRouter steps there, or choose one of them as "
        "the step's model_version; docs/providers.md says what each needs."
    )


SPEC = ProviderSpec(
    id="openrouter",
    name=NAME,
    labels={
        # Llama 3.2 Vision: withdrawn by OpenRouter; kept so seed workflows compile
        # and can be routed.
        **{label: Served(model, live=False) for label, model in WITHDRAWN.items()},
        "Llama 4 Scout - OpenRouter": Served("meta-llama/llama-4-scout", LLAMA_4),
        "Llama 4 Maverick - OpenRouter": Served("meta-llama/llama-4-maverick", LLAMA_4),
    },
    create_backend=create_backend,
    needs_key=True,
    key_env=KEY_ENV,
    address_env=BASE_URL_ENV,
    route_env=ROUTE_ENV,
    blurb="your API key; Llama 4 Scout and Maverick only, no longer Llama 3.2 Vision",
    constrains="OpenRouter",
)
