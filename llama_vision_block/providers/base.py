"""The one small interface every provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Protocol, Tuple, Type, TypeVar

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.prompts import Prompt
from llama_vision_block.schemas import ResponseSchema
from llama_vision_block.sampling import MAX_TOKENS_LIMIT, SAMPLING_RANGES, check_sampling_value

if TYPE_CHECKING:  # numpy and OpenCV load with the images, not with a provider's spec
    from llama_vision_block.images import PreparedImage


T = TypeVar("T")


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

    def __post_init__(self) -> None:
        # Values from selectors reach here unchecked by the manifest.
        tokens = self.max_tokens
        if isinstance(tokens, bool) or not isinstance(tokens, int) or not 2 <= tokens <= MAX_TOKENS_LIMIT:
            raise ConfigurationError(f"`max_tokens` must be a whole number from 2 to {MAX_TOKENS_LIMIT}; got {tokens!r}.")
        for name in SAMPLING_RANGES:
            object.__setattr__(self, name, check_sampling_value(name, getattr(self, name)))

    def optional_parameters(self) -> Dict[str, Any]:
        """The sampling parameters the step set, beyond max_tokens and temperature."""
        return {
            field.name: getattr(self, field.name)
            for field in fields(self)
            if field.name not in ("max_tokens", "temperature")
            and getattr(self, field.name) is not None
        }


@dataclass(frozen=True)
class VisionRequest:
    """One image and its prompt, with the sampling settings of the step."""

    prompt: Prompt
    image: PreparedImage  # EncodedImage for HTTP providers, PixelImage in process
    generation: Generation
    # The JSON schema the reply must match, where the task and the step ask for one.
    response_schema: Optional[ResponseSchema] = None


@dataclass(frozen=True)
class Reply:
    """The model's reply text, whether it stopped because it hit `max_tokens`, and
    the tokens it cost (`None` where the provider did not say)."""

    text: str
    cut_off: bool = False
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None


def usage_token_counts(usage: Any) -> Tuple[Optional[int], Optional[int]]:
    """(input, output) tokens from a `usage` object of the chat-completions form
    (`prompt_tokens`, `completion_tokens`), which OpenRouter, vLLM, SGLang, Ollama,
    `transformers serve` and Workers AI all use; a count that is missing or not a
    whole number is `None`, never 0."""
    if not isinstance(usage, dict):
        return None, None
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))


def _count(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


@dataclass(frozen=True)
class ProviderSettings:
    """How to reach a provider: what every provider reads (the key, the time limit
    of an attempt) and the provider's own step properties (its spec's `settings`),
    by the names the step gives them."""

    api_key: Optional[str] = field(default=None, repr=False)
    request_timeout: float = 120.0  # seconds
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def option(self, name: str) -> Any:
        """The step's value of one of the provider's own properties; `None` if unset."""
        return self.options.get(name)


def from_step(kind: Type[T], properties: Mapping[str, Any]) -> T:
    """A dataclass such as `Generation` from the step's properties: each field takes
    the property of its name."""
    names = {field.name for field in fields(kind)}
    return kind(**{name: value for name, value in properties.items() if name in names})


def require_api_key(provider: str, settings: ProviderSettings) -> str:
    """The step's API key, or an error that names the provider (by its display name)."""
    if not settings.api_key:
        raise ConfigurationError(
            f"`api_key` is required for {provider}: pass your key, "
            "for example as `$inputs.api_key`."
        )
    return settings.api_key


class Backend(Protocol):
    """Sends one request to the model it is bound to and returns its reply.

    Backends are called from several threads at once (one per image in flight).
    They make one attempt: retrying is `retries.call_with_retries`'s job.
    """

    # The URL its requests go to, as its `UnreachableError`s name it; None in process.
    endpoint: Optional[str]

    def complete(self, request: VisionRequest) -> Reply:
        """Returns the reply, or raises `ProviderError` (marked retryable if transient)."""
        ...
