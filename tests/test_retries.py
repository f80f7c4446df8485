from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from llama_vision_block.errors import ProviderError, TransientProviderError, provider_error
from llama_vision_block.retries import (
    RetryPolicy,
    call_with_retries,
    is_retryable_status,
    parse_retry_after,
)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 599])
def test_transient_statuses_are_retryable(status):
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 413, 422])
def test_request_errors_are_not_retryable(status):
    assert not is_retryable_status(status)


def test_retry_after_in_seconds_and_as_an_http_date():
    now = datetime(2026, 11, 21, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_full_jitter_under_an_exponential_ceiling():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0)
    for retry_number, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (8, 5.0)]:
        delays = [policy.delay(retry_number, None) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread out, not a constant


def test_retry_after_wins_and_is_capped():
    policy = RetryPolicy(max_retry_after_s=60.0)
    assert policy.delay(0, 12.0) == 12.0
    assert policy.delay(0, 3600.0) == 60.0


class Flaky:
    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


def test_transient_errors_are_retried_with_the_waits_asked_for():
    waits = []
    call = Flaky([
        TransientProviderError("P", "slow down", 429, retry_after=2.0),
        TransientProviderError("P", "reset"),
    ])
    assert call_with_retries(call, RetryPolicy(max_retries=3, base_delay_s=0.5), sleep=waits.append) == "answer"
    assert call.calls == 3
    assert waits[0] == 2.0 and 0.0 <= waits[1] <= 1.0


def test_gives_up_after_max_retries_with_the_last_error():
    waits = []
    errors = [TransientProviderError("P", f"down {i}", 503) for i in range(5)]
    call = Flaky(errors)
    with pytest.raises(ProviderError, match="down 2"):
        call_with_retries(call, RetryPolicy(max_retries=2, base_delay_s=0.01), sleep=waits.append)
    assert call.calls == 3 and len(waits) == 2


def test_request_errors_are_not_retried():
    call = Flaky([ProviderError("P", "bad request", 400)])
    with pytest.raises(ProviderError, match="bad request"):
        call_with_retries(call, RetryPolicy(max_retries=5), sleep=lambda s: None)
    assert call.calls == 1


def test_zero_retries_means_one_attempt():
    call = Flaky([TransientProviderError("P", "x", 500)])
    with pytest.raises(ProviderError):
        call_with_retries(call, RetryPolicy(max_retries=0), sleep=lambda s: None)
    assert call.calls == 1


@pytest.mark.parametrize("status,retryable", [(429, True), (503, True), (400, False), (404, False), (None, False)])
def test_provider_errors_know_from_their_status_whether_to_retry(status, retryable):
    assert provider_error("P", "x", status).retryable is retryable
    assert provider_error("P", "x", status, retryable=True).retryable is True  # an explicit say wins
