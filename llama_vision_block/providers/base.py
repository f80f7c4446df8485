"""The one small interface every provider implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

from llama_vision_block.images import EncodedImage
from llama_vision_block.prompts import Prompt


@dataclass(frozen=True)
class Generation:
    """How the model samples its reply; `None` leaves a setting to the provider."""

    max_tokens: int
    temperature: float
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    seed: Optional[int] = None
    repetition_penalty: Optional[float] = None
    frequency_penalty: Optional[float] = None
    presence_penalty: Optional[float] = None


@dataclass(frozen=True)
class VisionRequest:
    """One image and its prompt, with the sampling settings of the step."""

    prompt: Prompt
    image: EncodedImage
    generation: Generation


@dataclass(frozen=True)
class ProviderSettings:
    """The step's properties that say how to reach a provider.

    Each provider reads the fields it needs and ignores the others.
    """

    api_key: Optional[str] = None
    # OpenAI-compatible servers (vLLM, Ollama, llama.cpp, SGLang)
    base_url: Optional[str] = None
    served_model_name: Optional[str] = None
    # Cloudflare Workers AI
    cloudflare_account_id: Optional[str] = None
    accept_llama_license: bool = False
    # In-process transformers
    model_path: Optional[str] = None
    device: Optional[str] = None
    batch_size: Optional[int] = None


class Backend(Protocol):
    """Sends one request to the model it is bound to and returns the reply text.

    Backends are called from several threads at once (one per image in flight).
    """

    def complete(self, request: VisionRequest) -> str:
        """Returns the reply text, or raises `ProviderError`."""
        ...
