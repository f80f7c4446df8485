"""Typed errors a workflow author (or a caller of the block) can act on.

Every message names the field, the image or the provider involved and says what to
do next. No message ever contains an API key: errors are built from provider
names, status codes and the provider's own message text, never from request
headers or client objects.
"""

from __future__ import annotations

from typing import Optional, Sequence


class LlamaVisionError(Exception):
    """Base class of every error this package raises on purpose."""


class StepError(LlamaVisionError):
    """A failure every image of the step would share: the step stops with it."""


class ImageError(LlamaVisionError):
    """A failure of one image: it goes into that image's `error_message`."""

    def for_image(self, name: str) -> str:
        """The message for the image called `name` (`images[i]`)."""
        return f"{name}: {self}"


class ConfigurationError(StepError, ValueError):
    """A step property has a value the block cannot work with: the caller's
    mistake, which an HTTP server answers with `http_status`."""

    http_status = 400


class RefusedByOperator(ConfigurationError):
    """The step names something (a server, a model path, a device) that the
    operator's settings do not allow callers to name."""

    http_status = 403


class InvalidImageError(ImageError, ValueError):
    """One image of the batch cannot be sent; the others still can."""

    def for_image(self, name: str) -> str:
        return str(self)  # the message already names the image


class LabelsError(LlamaVisionError, ValueError):
    """Labelled images or an evaluation setting that cannot be used (a missing file,
    a bad line, a malformed price): the message names it and says what to do."""


class IncompatibleInferenceError(LlamaVisionError, RuntimeError):
    """The installed `inference` changed internals this plugin relies on."""


class ProviderError(ImageError, RuntimeError):
    """A model provider failed to deliver a usable reply for one image.

    The class says what the block does with it: `TransientProviderError` is worth
    another attempt, `StepProviderError` (a rejected key, a model not served)
    stops the step, a plain `ProviderError` costs its image. `provider_error`
    picks the class from an HTTP status, as the `openai` SDK's factory does.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        status_code: Optional[int] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.provider_message = message
        # Seconds the server asked us to wait (Retry-After), if it said.
        self.retry_after = retry_after
        # How many attempts ended in this error; `retries.call_with_retries` counts them.
        self.attempts = 1
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"{provider}{status}: {message}")

    def for_image(self, name: str) -> str:
        """The message for the image, saying how many attempts were made when there were several."""
        said = super().for_image(name)
        return f"{said} (after {self.attempts} attempts)" if self.attempts > 1 else said

    @property
    def retryable(self) -> bool:
        """Transient (rate limit, overload, dropped connection): worth another try."""
        return isinstance(self, TransientProviderError)

    @property
    def fails_every_request(self) -> bool:
        """No other image would fare better: the step stops."""
        return isinstance(self, StepError)


class TransientProviderError(ProviderError):
    """A rate limit, an overload, a timeout or a dropped connection: retried."""


class UnreachableError(TransientProviderError):
    """No connection could be made to the provider's endpoint at all (refused,
    no such host, no answer to connect): no other image would fare better."""

    # How its message begins, and so the message of every image it cost.
    PHRASE = "could not connect to"

    def __init__(self, provider: str, endpoint: str) -> None:
        super().__init__(provider, f"{self.PHRASE} {endpoint}")
        self.endpoint = endpoint  # the URL the connection was for

    def not_attempted(self, image: str) -> "NotAttempted":
        """The error for an image of the same step that was not sent because of this one."""
        return NotAttempted(self.provider, f"{self.provider_message} (not attempted: {image} found it unreachable)")


class NotAttempted(ProviderError):
    """An image not sent: its endpoint had just been found unreachable."""


class LimitWaitExpired(ProviderError):
    """Not sent: the image's time bound passed while the provider's limit kept it
    waiting at its endpoint's gate (`admission.py`)."""


class StepProviderError(ProviderError, StepError):
    """A rejected key, an unknown model, a licence not accepted: stops the step."""


class ModelNotServed(StepProviderError):
    """The provider no longer serves the step's model: every image would fail. The
    block names the labels that run today (`with_labels`): a provider cannot, as
    it sits below the registry that knows them."""

    def with_labels(self, labels: Sequence[str]) -> "ModelNotServed":
        """The same error, naming the live `model_version` labels."""
        listed = ", ".join(f"'{label}'" for label in labels)
        return ModelNotServed(
            self.provider, f"{self.provider_message} The live labels: {listed}.", self.status_code, self.retry_after
        )


def provider_error(
    provider: str,
    message: str,
    status_code: Optional[int] = None,
    retry_after: Optional[float] = None,
    *,
    fails_every_request: Optional[bool] = None,
    retryable: Optional[bool] = None,
) -> ProviderError:
    """The error of the class a failure calls for: an explicit `fails_every_request`
    or `retryable`, else what `status_code` means (401, 403, 404 stop the step;
    408, 409, 429 and 5xx are transient; anything else costs the image)."""
    if fails_every_request is None:
        fails_every_request = status_code in _STEP_WIDE_STATUSES and not retryable
    if retryable is None:
        retryable = status_code is not None and is_retryable_status(status_code)
    if fails_every_request:
        kind = StepProviderError
    else:
        kind = TransientProviderError if retryable else ProviderError
    return kind(provider, message, status_code, retry_after)


_STEP_WIDE_STATUSES = frozenset({401, 403, 404})
# 429 rate limit, 408 request timeout, 409 conflict and every 5xx are transient;
# 400, 401, 403, 404, 413 and 422 say the request itself is wrong.
RETRYABLE_STATUSES = frozenset({408, 409, 429})


def is_retryable_status(status_code: int) -> bool:
    """Whether an HTTP status is worth another attempt."""
    return status_code in RETRYABLE_STATUSES or 500 <= status_code <= 599

REDACTED = "[redacted]"
# Shorter "keys" (test placeholders, a stray letter) would cut words out of replies;
# every real provider key is far longer.
MIN_SECRET_CHARS = 8


def redact(text: str, secret: Optional[str]) -> str:
    """`text` with every occurrence of `secret` replaced, for provider text we pass on."""
    if not secret or len(secret) < MIN_SECRET_CHARS:
        return text
    return text.replace(secret, REDACTED)
