"""Operator settings that are numbers: the caches' bounds and the reply limit."""

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers.remote.clients import MAX_CLIENTS_ENV, max_clients
from llama_vision_block.providers.local.model_cache import MAX_MODELS_ENV, max_loaded_models
from llama_vision_block.providers.remote.transport import MAX_REPLY_BYTES_ENV, max_reply_bytes
from llama_vision_block.settings import int_setting


@pytest.mark.parametrize(
    "name,read,default",
    [(MAX_CLIENTS_ENV, max_clients, 32), (MAX_MODELS_ENV, max_loaded_models, 1), (MAX_REPLY_BYTES_ENV, max_reply_bytes, 8 * 1024 * 1024)],
)
def test_each_bound_has_a_default_and_an_environment_setting(name, read, default, monkeypatch):
    monkeypatch.delenv(name, raising=False)
    assert read() == default
    monkeypatch.setenv(name, "4096")
    assert read() == 4096


@pytest.mark.parametrize("raw", ["zero", "-3", "1.5", "0"])
def test_a_setting_that_is_not_a_whole_number_in_range_names_itself(raw, monkeypatch):
    monkeypatch.setenv("SOME_SETTING", raw)
    with pytest.raises(ConfigurationError, match=r"\$SOME_SETTING must be a whole number of at least 1"):
        int_setting("SOME_SETTING", 5)
