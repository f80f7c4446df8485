"""The model cache's bound: a caller who names another model replaces one, never piles up."""

import shutil

import pytest

from llama_vision_block.errors import ProviderError
from llama_vision_block.providers.local.model_cache import MAX_MODELS_ENV, ModelCache, ModelKey
from support.tiny_mllama import build_tiny_mllama


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    first = build_tiny_mllama(tmp_path_factory.mktemp("first"))
    second = shutil.copytree(first, tmp_path_factory.mktemp("copies") / "second")
    return [ModelKey(path=str(path), device="cpu", dtype="float32") for path in (first, second)]


def test_a_new_model_unloads_the_least_recently_used_idle_one(checkpoints):
    cache = ModelCache(max_models=1)
    first = cache.get(checkpoints[0])
    cache.get(checkpoints[1])
    assert cache.keys() == [checkpoints[1]]
    with pytest.raises(ProviderError, match="batching thread has stopped"):
        first.batcher.submit(None)  # the unloaded model's worker is gone
    assert cache.get(checkpoints[0]) is not first  # loaded again on demand
    assert cache.load_count(checkpoints[0]) == 2
    cache.clear()


def test_a_model_in_use_is_never_unloaded(checkpoints):
    cache = ModelCache(max_models=1)
    with cache.lease(checkpoints[0]) as in_use:
        with pytest.raises(ProviderError, match=rf"keeps at most 1 loaded model\(s\) \(\${MAX_MODELS_ENV}\)") as caught:
            cache.get(checkpoints[1])
        assert caught.value.retryable
        assert cache.keys() == [checkpoints[0]] and in_use.batcher._thread.is_alive()
    cache.get(checkpoints[1])  # once released, it makes room
    assert cache.keys() == [checkpoints[1]]
    cache.clear()
