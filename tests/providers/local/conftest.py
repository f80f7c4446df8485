"""The tiny random Mllama checkpoint the in-process backend's tests load."""

import shutil

import pytest
import torch

from llama_vision_block.providers.local.model_cache import MODEL_CACHE
from support.tiny_mllama import build_tiny_mllama


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    threads = torch.get_num_threads()
    # One intra-op thread: the model is tiny, and spinning OpenMP threads on a
    # busy 2-core machine only adds noise.
    torch.set_num_threads(1)
    yield build_tiny_mllama(tmp_path_factory.mktemp("tiny-mllama"))
    MODEL_CACHE.clear()
    torch.set_num_threads(threads)


@pytest.fixture
def own_checkpoint(tiny_checkpoint, tmp_path):
    """A private copy of the tiny checkpoint: its own cache entry, batcher and grammars."""
    return shutil.copytree(tiny_checkpoint, tmp_path / "checkpoint")
