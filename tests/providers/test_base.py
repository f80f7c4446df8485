"""The provider-neutral request types, and how a step's properties become them."""

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers.base import Generation, ProviderSettings, from_step, usage_token_counts

PROPERTIES = {
    "max_tokens": 50, "temperature": 0.3, "top_k": 5, "api_key": "k", "base_url": "http://h/v1",
    "request_timeout": 7.5, "model_path": None, "task_type": "ocr", "max_retries": 2,
}


def test_each_field_takes_the_property_of_its_name_and_nothing_else():
    assert from_step(Generation, PROPERTIES) == Generation(max_tokens=50, temperature=0.3, top_k=5)
    settings = from_step(ProviderSettings, PROPERTIES, api_key=None)  # an override wins
    assert (settings.api_key, settings.base_url, settings.request_timeout) == (None, "http://h/v1", 7.5)


def test_generation_checks_values_that_came_through_selectors():
    with pytest.raises(ConfigurationError, match="`max_tokens` must be a whole number from 2 to 8192"):
        from_step(Generation, {**PROPERTIES, "max_tokens": 10_000})


@pytest.mark.parametrize(
    "usage,counts",
    [({"prompt_tokens": 12, "completion_tokens": 3}, (12, 3)), ({"prompt_tokens": True}, (None, None)),
     ({"completion_tokens": -1}, (None, None)), (None, (None, None)), ("12", (None, None))],
)
def test_token_counts_are_whole_numbers_or_none(usage, counts):
    assert usage_token_counts(usage) == counts
