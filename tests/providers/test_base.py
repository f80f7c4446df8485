"""The provider-neutral request types, and how a step's properties become them."""

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers.registry import PROVIDERS
from llama_vision_block.providers.base import Generation, from_step, usage_token_counts
from llama_vision_block.providers.spec import provider_settings

PROPERTIES = {
    "max_tokens": 50, "temperature": 0.3, "top_k": 5, "api_key": "k", "base_url": "http://h/v1",
    "request_timeout": 7.5, "model_path": None, "task_type": "ocr", "max_retries": 2,
}


def test_each_field_takes_the_property_of_its_name_and_nothing_else():
    assert from_step(Generation, PROPERTIES) == Generation(max_tokens=50, temperature=0.3, top_k=5)


def test_a_provider_gets_only_the_properties_its_spec_lists():
    settings = provider_settings(PROVIDERS["ollama"], PROPERTIES, api_key=None)
    assert (settings.api_key, settings.request_timeout) == (None, 7.5)
    assert dict(settings.options) == {"base_url": "http://h/v1", "served_model_name": None}
    local = provider_settings(PROVIDERS["local-transformers"], PROPERTIES, api_key="k")
    assert dict(local.options) == {"model_path": None, "device": None, "batch_size": None}
    assert local.option("base_url") is None  # another provider's property never reaches it


def test_an_unset_property_takes_its_declared_default():
    settings = provider_settings(PROVIDERS["cloudflare"], {}, api_key="k")
    assert settings.option("cloudflare_accept_llama_license") is False
    assert "k" not in repr(settings)


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


@pytest.mark.parametrize(
    "properties, message",
    [
        ({"cloudflare_accept_llama_license": "yes"}, "`cloudflare_accept_llama_license` must be true or false; got 'yes'."),
        ({"lora": 7}, "`lora` must be text; got 7."),
        ({"cloudflare_account_id": ["x"]}, "`cloudflare_account_id` must be text; got ['x']."),
    ],
)
def test_a_selectors_value_of_the_wrong_kind_is_refused_naming_the_property(properties, message):
    from llama_vision_block.errors import ConfigurationError
    from llama_vision_block.providers.remote.cloudflare import SPEC

    with pytest.raises(ConfigurationError) as caught:
        provider_settings(SPEC, properties, api_key="k")
    assert str(caught.value) == message
