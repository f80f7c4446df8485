"""Example Cloud: a made-up hosted OpenAI-compatible API with one property of its own.

`tests/test_adding_a_provider.py` drops this module into a copy of the package and
adds it to the registry, as `docs/architecture.md` tells a maintainer to.
"""

from __future__ import annotations

import os

from llama_vision_block.families import LLAMA_32_VISION
from llama_vision_block.providers.base import ProviderSettings, require_api_key
from llama_vision_block.providers.remote.openai_chat import OpenAIChatBackend
from llama_vision_block.providers.spec import Need, ProviderSpec, Served, StepSetting

NAME = "Example Cloud"
KEY_ENV = "EXAMPLE_CLOUD_API_KEY"
REGION_ENV = "EXAMPLE_CLOUD_REGION"
BASE_URL_ENV = "EXAMPLE_CLOUD_BASE_URL"


def create_backend(model: str, settings: ProviderSettings, family: str = LLAMA_32_VISION) -> OpenAIChatBackend:
    """Each region is its own endpoint under the base URL."""
    region = settings.option("example_region") or os.environ[REGION_ENV]
    return OpenAIChatBackend(
        provider=NAME,
        model=model,
        base_url=f"{os.environ[BASE_URL_ENV]}/{region}/v1",
        api_key=require_api_key(NAME, settings),
        timeout_s=settings.request_timeout,
    )


SPEC = ProviderSpec(
    id="example-cloud",
    name=NAME,
    labels={"11B - Example Cloud": Served("example/llama-3.2-11b-vision")},
    create_backend=create_backend,
    needs_key=True,
    key_env=KEY_ENV,
    address_env=BASE_URL_ENV,
    blurb="your Example Cloud key and region",
    constrains="Example Cloud",
    default_label="11B - Example Cloud",
    needs=(Need(KEY_ENV, option="api_key"), Need(REGION_ENV, option="example_region")),
    settings=(
        StepSetting(
            name="example_region",
            description=f"Where Example Cloud runs the model. Defaults to ${REGION_ENV}.",
            choices=("eu", "us"),
            examples=("eu",),
        ),
    ),
)
