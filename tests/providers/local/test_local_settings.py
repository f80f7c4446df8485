"""The local backend's configuration errors: each one names the setting and says what to do.

Checks run before any weight is read, so these tests need no model: the files
they write are empty stand-ins.
"""

import json
import re

import pytest
import torch

from llama_vision_block.errors import ConfigurationError, ProviderError
from llama_vision_block.providers.local import backend as local_transformers
from llama_vision_block.providers.local.checkpoint import check_checkpoint, missing_files
from llama_vision_block.providers.local.model_cache import MODEL_CACHE
from llama_vision_block.providers.spec import provider_settings

MODEL = "meta-llama/Llama-3.2-11B-Vision-Instruct"


def create(model_path, **settings):
    # Through `provider_settings`, as the block builds them: values checked by their kind.
    properties = {"model_path": None if model_path is None else str(model_path), **settings}
    return local_transformers.create_backend(MODEL, provider_settings(local_transformers.SPEC, properties, None))


def write_checkpoint(directory, *names, model_type="mllama"):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        content = json.dumps({"model_type": model_type}) if name == "config.json" else "{}"
        (directory / name).write_text(content)
    return directory


COMPLETE = (
    "config.json",
    "model-00001-of-00001.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
)


@pytest.mark.parametrize("model_path", [None, "", "   "])
def test_no_model_path_and_no_environment_variable(model_path, monkeypatch):
    monkeypatch.delenv(local_transformers.MODEL_PATH_ENV, raising=False)
    with pytest.raises(ConfigurationError) as raised:
        create(model_path)
    message = str(raised.value)
    assert "`model_path`" in message and "LLAMA_VISION_MODEL_PATH" in message
    assert "Local GPU (transformers)" in message


def test_a_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigurationError, match="does not exist") as raised:
        create(missing)
    assert str(missing) in str(raised.value)
    assert f"huggingface-cli download {MODEL} --local-dir {missing}" in str(raised.value)


def test_a_path_that_is_a_file(tmp_path):
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"\0")
    with pytest.raises(ConfigurationError, match="is a file, not a directory") as raised:
        create(file)
    assert str(file) in str(raised.value)


def test_an_empty_directory_names_everything_it_lacks(tmp_path):
    with pytest.raises(ConfigurationError) as raised:
        create(tmp_path)
    message = str(raised.value)
    assert str(tmp_path) in message
    for needed in ("config.json", "*.safetensors", "pytorch_model*.bin", "tokenizer.json",
                   "tokenizer_config.json", "preprocessor_config.json"):
        assert needed in message, needed


@pytest.mark.parametrize("dropped", COMPLETE)
def test_a_directory_missing_one_kind_of_file_says_which(tmp_path, dropped):
    write_checkpoint(tmp_path, *(name for name in COMPLETE if name != dropped))
    with pytest.raises(ConfigurationError, match="is not a complete Llama 3.2 Vision checkpoint") as raised:
        create(tmp_path, device="cpu")
    expected = "the weights (*.safetensors" if dropped.endswith(".safetensors") else dropped
    assert f"missing: {expected}" in str(raised.value)
    assert len(missing_files(tmp_path)) == 1


def test_a_complete_directory_passes_the_check(tmp_path):
    check_checkpoint(write_checkpoint(tmp_path, *COMPLETE), MODEL)


def test_alternative_file_names_are_accepted(tmp_path):
    write_checkpoint(
        tmp_path, "config.json", "pytorch_model.bin", "tokenizer.model",
        "tokenizer_config.json", "processor_config.json",
    )
    assert missing_files(tmp_path) == []


def test_shards_missing_from_a_safetensors_index_are_named(tmp_path):
    write_checkpoint(tmp_path, *(name for name in COMPLETE if not name.endswith(".safetensors")))
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
    }}))
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(b"\0")
    with pytest.raises(ConfigurationError, match="model-00002-of-00002.safetensors") as raised:
        create(tmp_path)
    assert "model-00001-of-00002" not in str(raised.value)


def test_a_checkpoint_that_passes_the_check_but_cannot_load_is_a_provider_error(tmp_path):
    loads = MODEL_CACHE.load_count()
    with pytest.raises(ProviderError, match="could not load the checkpoint at") as raised:
        create(write_checkpoint(tmp_path, *COMPLETE), device="cpu")
    assert str(tmp_path) in str(raised.value) and raised.value.fails_every_request
    assert MODEL_CACHE.load_count() == loads  # nothing half-loaded is cached


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    write_checkpoint(tmp_path / "llava", *COMPLETE, model_type="llava")
    with pytest.raises(ConfigurationError, match="'llava' model, not Llama 3.2 Vision"):
        create(tmp_path / "llava")


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "tpu", "cuda:0:1"])
def test_an_unknown_device(tmp_path, device):
    with pytest.raises(ConfigurationError, match=re.escape("`device` must be 'cuda', 'cuda:N' or 'cpu'")):
        create(write_checkpoint(tmp_path, *COMPLETE), device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_requested_where_torch_sees_no_gpu(tmp_path):
    with pytest.raises(ConfigurationError, match="torch sees no CUDA GPU"):
        create(write_checkpoint(tmp_path, *COMPLETE), device="cuda")


@pytest.mark.parametrize("batch_size", [0, -2, 1.5, "8", True, 257])
def test_a_bad_batch_size_is_refused_by_its_declaration_before_the_backend_is_built(batch_size):
    # The spec declares batch_size an integer from 1 to 256; provider_settings checks
    # every provider property by its declaration, so the backend never re-checks it.
    from llama_vision_block.providers.local.backend import SPEC
    from llama_vision_block.providers.spec import provider_settings

    with pytest.raises(ConfigurationError, match=re.escape(f"`batch_size` must be a whole number from 1 to 256; got {batch_size!r}.")):
        provider_settings(SPEC, {"batch_size": batch_size}, api_key=None)


def test_default_device_and_batch_size():
    assert local_transformers.resolve_device(None, torch) == (
        f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu"
    )
    assert local_transformers.resolve_device(" CPU ", torch) == "cpu"
    assert local_transformers.resolve_batch_size(None, "cuda:0") == 8
    assert local_transformers.resolve_batch_size(None, "cpu") == 1
    assert local_transformers.resolve_batch_size(3, "cpu") == 3
