"""The provider registry: one spec per provider, read by everything that depends on one."""

import pytest

from llama_vision_block.cli.options import key_env_for
from llama_vision_block.manifest import BlockManifest
from llama_vision_block.model_versions import live_labels
from llama_vision_block.providers import PROVIDERS


@pytest.fixture(autouse=True)
def no_route(monkeypatch):
    monkeypatch.delenv("LLAMA_VISION_OPENROUTER_ROUTE", raising=False)


def test_the_editor_shows_each_providers_own_properties_for_its_labels_only():
    schema = BlockManifest.model_json_schema()["properties"]
    settings = {setting for spec in PROVIDERS.values() for setting in spec.settings}
    assert settings <= set(BlockManifest.model_fields)
    for setting in settings:
        expected = [label for spec in PROVIDERS.values() if setting in spec.settings for label in spec.labels]
        assert schema[setting]["relevant_for"]["model_version"]["values"] == expected, setting


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_cli_takes_each_providers_key_from_its_own_variable(provider):
    spec = PROVIDERS[provider]
    for label in spec.labels:
        assert key_env_for(label) == spec.key_env
    assert (spec.key_env is not None) == spec.needs_key


def test_only_live_providers_are_offered_as_where_the_model_runs():
    assert [spec.id for spec in PROVIDERS.values() if not spec.live] == ["openrouter"]
    assert set(live_labels()) == {label for spec in PROVIDERS.values() if spec.live for label in spec.labels}
