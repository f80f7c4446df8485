"""Errors by class: what stops the step, what costs one image, what is retried."""

import pytest

from llama_vision_block.errors import (
    ConfigurationError,
    ImageError,
    InvalidImageError,
    ModelNotServed,
    ProviderError,
    StepError,
    StepProviderError,
    TransientProviderError,
    provider_error,
)
from llama_vision_block.providers.remote.cloudflare import LicenseNotAccepted


@pytest.mark.parametrize(
    "status,kind",
    [(429, TransientProviderError), (503, TransientProviderError), (401, StepProviderError),
     (404, StepProviderError), (400, ProviderError), (None, ProviderError)],
)
def test_the_factory_gives_the_class_a_status_calls_for(status, kind):
    error = provider_error("P", "m", status)
    assert type(error) is kind
    assert error.retryable is (kind is TransientProviderError)
    assert error.fails_every_request is (kind is StepProviderError)


def test_an_explicit_say_wins_over_the_status():
    assert type(provider_error("P", "reset", retryable=True)) is TransientProviderError
    assert type(provider_error("P", "gone", 500, fails_every_request=True)) is StepProviderError
    assert type(provider_error("P", "moved", 302, retryable=False)) is ProviderError


def test_constructors_are_plain_the_class_called_is_the_class_made():
    # Before: ProviderError(...) turned itself into a subclass by reading its arguments.
    assert type(ProviderError("P", "m", 503)) is ProviderError and not ProviderError("P", "m", 503).retryable
    error = TransientProviderError("P", "slow down", 429, retry_after=2.0)
    assert (error.status_code, error.retry_after, str(error)) == (429, 2.0, "P (HTTP 429): slow down")


def test_what_stops_the_step_and_what_costs_one_image():
    for error in (ConfigurationError("x"), StepProviderError("P", "m"), ModelNotServed("P", "m", 400), LicenseNotAccepted("P", "m", 403)):
        assert isinstance(error, StepError)
    for error in (InvalidImageError("images[1] is empty"), ProviderError("P", "m", 400), TransientProviderError("P", "m")):
        assert isinstance(error, ImageError) and not isinstance(error, StepError)


def test_each_image_error_writes_its_own_message():
    assert ProviderError("Ollama", "bad", 400).for_image("images[2]") == "images[2]: Ollama (HTTP 400): bad"
    retried = TransientProviderError("Ollama", "overloaded", 503)
    retried.attempts = 4
    assert retried.for_image("images[2]") == "images[2]: Ollama (HTTP 503): overloaded (after 4 attempts)"
    assert InvalidImageError("images[2] is empty").for_image("images[2]") == "images[2] is empty"
