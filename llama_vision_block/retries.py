"""Retrying transient provider failures: the one place that owns retries.

Transports raise `ProviderError` and say whether it is transient (`retryable`)
and how long the server asked to wait (`retry_after`). `call_with_retries`
waits with exponential backoff and full jitter, or what `Retry-After` asked.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Optional, TypeVar

# Which statuses are transient is ProviderError's to know; re-exported for callers.
from llama_vision_block.errors import ProviderError, is_retryable_status  # noqa: F401

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry, and how long to wait between attempts."""

    max_retries: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    # A server may ask for longer than our own backoff would wait, up to this.
    max_retry_after_s: float = 120.0

    def time_bound(self, request_timeout: float) -> float:
        """The most one image may take (docs/security.md): every attempt's deadline
        and the longest wait between attempts; waiting for a provider's limit counts."""
        return (self.max_retries + 1) * request_timeout + self.max_retries * self.max_retry_after_s

    def delay(self, retry_number: int, retry_after: Optional[float]) -> float:
        """Seconds to wait before retry number `retry_number` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2**retry_number)
        return random.uniform(0.0, ceiling)  # full jitter spreads out a burst of 429s


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Runs `call`, retrying transient `ProviderError`s as `policy` allows."""
    for retry_number in range(policy.max_retries + 1):
        try:
            return call()
        except ProviderError as error:
            if not error.retryable or retry_number == policy.max_retries:
                error.attempts = retry_number + 1
                raise
            wait = policy.delay(retry_number, error.retry_after)
            logger.info(
                "%s; retry %d of %d in %.2f s", error, retry_number + 1, policy.max_retries, wait
            )
            sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def parse_retry_after(value: Optional[str], now: Optional[datetime] = None) -> Optional[float]:
    """Seconds from a `Retry-After` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)
