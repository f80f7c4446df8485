"""The one small interface every provider implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

from llama_vision_block.images import EncodedImage
from llama_vision_block.prompts import Prompt


@dataclass(frozen=True)
class VisionRequest:
    """One image and its prompt, with the generation settings of the step."""

    prompt: Prompt
    image: EncodedImage
    model: str
    max_tokens: int
    temperature: float


@dataclass(frozen=True)
class ProviderSettings:
    """What a step tells a provider about how to reach it."""

    api_key: Optional[str] = None


class Backend(Protocol):
    """Sends one request to the model and returns the text of its reply."""

    def complete(self, request: VisionRequest) -> str:
        """Returns the reply text, or raises `ProviderError`."""
        ...
