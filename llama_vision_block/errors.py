"""Typed errors a workflow author (or a caller of the block) can act on.

Every message names the field, the image or the provider involved and says what to
do next. No message ever contains an API key: errors are built from provider
names, status codes and the provider's own message text, never from request
headers or client objects.
"""

from __future__ import annotations

from typing import Optional


class LlamaVisionError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(LlamaVisionError, ValueError):
    """A step property has a value the block cannot work with."""


class InvalidImageError(LlamaVisionError, ValueError):
    """One image of the batch cannot be sent; the others still can."""


class IncompatibleInferenceError(LlamaVisionError, RuntimeError):
    """The installed `inference` changed internals this plugin relies on."""


class ProviderError(LlamaVisionError, RuntimeError):
    """A model provider failed to deliver a usable reply."""

    def __init__(
        self,
        provider: str,
        message: str,
        status_code: Optional[int] = None,
        fails_every_request: Optional[bool] = None,
        retryable: Optional[bool] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.provider_message = message
        # Transient (rate limit, overload, dropped connection): worth another try.
        # Follows from the status when the caller does not say.
        self.retryable = (
            status_code is not None and is_retryable_status(status_code)
            if retryable is None
            else retryable
        )
        # Seconds the server asked us to wait (Retry-After), if it said.
        self.retry_after = retry_after
        # A rejected key or an unknown model: no other image would fare better,
        # so the step stops instead of reporting the same error per image.
        self.fails_every_request = (
            status_code in _STEP_WIDE_STATUSES
            if fails_every_request is None
            else fails_every_request
        )
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"{provider}{status}: {message}")


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
