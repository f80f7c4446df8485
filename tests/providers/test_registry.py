"""The provider registry: one spec per provider, read by everything that depends on one."""

from dataclasses import replace

import pytest

from llama_vision_block.cli.options import key_env_for
from llama_vision_block.manifest import BlockManifest
from llama_vision_block.model_versions import live_labels
from llama_vision_block.providers.registry import PROVIDERS, STEP_SETTINGS, _step_settings
from llama_vision_block.providers.spec import StepSetting


_STEP = {"type": "llama_vision_block/llama_3_2_vision@v1", "name": "s", "images": "$inputs.image",
         "task_type": "ocr", "model_version": "11B - Ollama"}


@pytest.fixture(autouse=True)
def no_route(monkeypatch):
    monkeypatch.delenv("LLAMA_VISION_OPENROUTER_ROUTE", raising=False)


def test_the_editor_shows_each_providers_own_properties_for_its_labels_only():
    schema = BlockManifest.model_json_schema()["properties"]
    settings = {setting.name for spec in PROVIDERS.values() for setting in spec.settings}
    assert settings == set(STEP_SETTINGS) and settings <= set(BlockManifest.model_fields)
    for name in settings:
        readers = [spec for spec in PROVIDERS.values() if STEP_SETTINGS[name] in spec.settings]
        expected = [label for spec in readers for label in spec.labels]
        assert schema[name]["relevant_for"]["model_version"]["values"] == expected, name
        for spec in readers:  # how each provider reads a shared property is said
            assert spec.setting_notes.get(name, "") in schema[name]["description"]


def test_a_spec_declares_each_property_as_the_manifest_types_it():
    assert BlockManifest.model_validate({**_STEP, "batch_size": 4}).batch_size == 4
    with pytest.raises(ValueError, match="batch_size"):
        BlockManifest.model_validate({**_STEP, "batch_size": 0})  # below the spec's minimum
    step = BlockManifest.model_validate({**_STEP, "cloudflare_account_id": "$inputs.account"})
    assert step.cloudflare_account_id == "$inputs.account" and step.cloudflare_accept_llama_license is False


def test_two_providers_cannot_declare_one_property_differently():
    one, other = StepSetting(name="x", description="a"), StepSetting(name="x", description="b")
    spec = PROVIDERS["ollama"]
    with pytest.raises(ValueError, match="'x' differently"):
        _step_settings([replace(spec, settings=(one,)), replace(spec, settings=(other,))])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_cli_takes_each_providers_key_from_its_own_variable(provider):
    spec = PROVIDERS[provider]
    for label in spec.labels:
        assert key_env_for(label) == spec.key_env
    assert (spec.key_env is not None) == spec.needs_key


def test_only_live_providers_are_offered_as_where_the_model_runs():
    withdrawn = {label: spec.id for spec in PROVIDERS.values() for label, served in spec.labels.items() if not served.live}
    assert set(withdrawn.values()) == {"openrouter"} and len(withdrawn) == 4
    assert set(live_labels()) == {label for spec in PROVIDERS.values() for label in spec.labels} - set(withdrawn)
