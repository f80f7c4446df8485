"""`MODEL_CACHE`: the process-wide cache of loaded Llama 3.2 Vision models.

A model is loaded once per process for each (resolved path, device, dtype) and
shared by every run and every workflow step that names it; each loaded model
owns one `MicroBatcher` (one worker thread). The cache is bounded (see
`ModelCache`). Loading is thread-safe: steps that start at once wait for the same
load instead of loading twice. `load_count(key)`
tells how many loads happened (tests use it); `clear()` frees everything.

Loading never touches the network: `local_files_only=True` on every
`from_pretrained` call, no remote code.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

from llama_vision_block.errors import StepProviderError, TransientProviderError
from llama_vision_block.providers.local.batcher import PROVIDER, MicroBatcher
from llama_vision_block.providers.local.generation import is_out_of_memory
from llama_vision_block.settings import int_setting

logger = logging.getLogger(__name__)
MAX_MODELS_ENV = "LLAMA_VISION_MAX_LOADED_MODELS"
# One 11B model takes ~21 GB of GPU memory in bf16: one per process is the safe
# default, and a caller who names another model replaces it rather than adds to it.
DEFAULT_MAX_MODELS = 1


def max_loaded_models() -> int:
    """The bound from `$LLAMA_VISION_MAX_LOADED_MODELS` (default 1)."""
    return int_setting(MAX_MODELS_ENV, DEFAULT_MAX_MODELS)


@dataclass(frozen=True)
class ModelKey:
    """What identifies a loaded model: checkpoint directory, device and dtype."""

    path: str  # absolute, symlinks resolved
    device: str  # "cpu" or "cuda:N"
    dtype: str  # "bfloat16" or "float32"


@dataclass
class LoadedModel:
    """A model, its processor and the batcher that runs it."""

    key: ModelKey
    model: Any  # MllamaForConditionalGeneration or Llama4ForConditionalGeneration
    processor: Any  # its processor
    batcher: MicroBatcher


class ModelCache:
    """Loaded models by `ModelKey`; one load per key, however many callers.

    At most `$LLAMA_VISION_MAX_LOADED_MODELS` (default 1) models stay loaded: a new
    one first unloads the least recently used models that no request is using, and
    is refused while every loaded model is in use."""

    def __init__(self, loader: Optional[Callable[[ModelKey], LoadedModel]] = None, max_models: int = 0) -> None:
        self._loader = loader or load_model
        self._max = max_models
        self._lock = threading.Lock()
        self._models: "OrderedDict[ModelKey, LoadedModel]" = OrderedDict()
        self._leases: Counter = Counter()
        self._key_locks: Dict[ModelKey, threading.Lock] = {}
        self._loads: Counter = Counter()

    def get(self, key: ModelKey) -> LoadedModel:
        """The loaded model for `key`, loading it first if no caller has yet."""
        with self._lock:
            loaded = self._models.get(key)
            if loaded is not None:
                self._models.move_to_end(key)
                return loaded
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                loaded = self._models.get(key)
            if loaded is None:
                self._make_room()
                loaded = self._loader(key)
                with self._lock:
                    self._models[key] = loaded
                    self._loads[key] += 1
            return loaded

    @contextlib.contextmanager
    def lease(self, key: ModelKey) -> Iterator[LoadedModel]:
        """The loaded model for `key`, which is not unloaded while the block runs."""
        while True:
            loaded = self.get(key)
            with self._lock:
                if self._models.get(key) is loaded:  # not unloaded in between
                    self._leases[key] += 1
                    break
        try:
            yield loaded
        finally:
            with self._lock:
                self._leases[key] -= 1

    def _make_room(self) -> None:
        limit = self._max or max_loaded_models()
        with self._lock:
            idle = [key for key in self._models if self._leases[key] == 0]
            excess = len(self._models) + 1 - limit
            if excess > len(idle):
                raise TransientProviderError(
                    PROVIDER,
                    f"this server keeps at most {limit} loaded model(s) "
                    f"(${MAX_MODELS_ENV}) and every one is in use; try again later, or "
                    "ask the operator to raise the limit.",
                )
            evicted = [self._models.pop(key) for key in idle[: max(excess, 0)]]
        for entry in evicted:
            logger.info("unloading %s to make room for another model", entry.key.path)
            entry.batcher.close()
        if evicted and any(entry.key.device.startswith("cuda") for entry in evicted):
            import torch

            del evicted
            torch.cuda.empty_cache()

    def load_count(self, key: Optional[ModelKey] = None) -> int:
        """How many times `key` (or, without a key, any model) was loaded."""
        with self._lock:
            return self._loads[key] if key is not None else sum(self._loads.values())

    def keys(self) -> List[ModelKey]:
        with self._lock:
            return list(self._models)

    def clear(self) -> None:
        """Stops every batcher and drops every model (load counts are kept)."""
        with self._lock:
            loaded, self._models = list(self._models.values()), OrderedDict()
        for entry in loaded:
            entry.batcher.close()


def load_model(key: ModelKey) -> LoadedModel:
    """Loads the checkpoint at `key.path` onto `key.device`, offline."""
    import torch
    import transformers
    from transformers import AutoModelForImageTextToText, AutoProcessor

    dtype = getattr(torch, key.dtype)
    offline = {"local_files_only": True, "trust_remote_code": False}
    try:
        processor = AutoProcessor.from_pretrained(key.path, **offline)
        processor.tokenizer.padding_side = "left"
        # Mllama or Llama 4, by the checkpoint's config (checked before loading).
        model = AutoModelForImageTextToText.from_pretrained(
            key.path,
            **offline,
            **_dtype_kwarg(transformers.__version__, dtype),
            **_device_map_kwarg(transformers.__version__, key.device),
        )
        if str(model.device) != key.device:
            model.to(key.device)
    except Exception as error:  # noqa: BLE001 - one clear message for any failure
        logger.debug("loading %s failed", key.path, exc_info=True)
        failure = _load_failure(key, error)
    else:
        failure = None
    if failure is not None:
        # Out of the `except` block, the traceback no longer holds the tensors
        # that did get loaded, so the cache can give their memory back.
        if key.device.startswith("cuda"):
            torch.cuda.empty_cache()
        raise StepProviderError(PROVIDER, failure)
    model.eval()
    if key.device == "cpu":
        logger.warning(
            "The model at %s runs on the CPU in float32: no CUDA GPU was "
            "found or `device` is 'cpu'. Expect it to be very slow (minutes per "
            "image for the 11B model).",
            key.path,
        )
    name = Path(key.path).name or key.path
    batcher = MicroBatcher(model, processor, key.device, name=f"{name}@{key.device}")
    return LoadedModel(key=key, model=model, processor=processor, batcher=batcher)


def _load_failure(key: ModelKey, error: Exception) -> str:
    if is_out_of_memory(error):
        return (
            f"the checkpoint at '{key.path}' does not fit in the memory of {key.device} "
            f"in {key.dtype} (bf16 takes about 2 bytes per parameter: ~21 GB for 11B, "
            "~180 GB for 90B, plus room for activations); use a GPU with more memory."
        )
    return f"could not load the checkpoint at '{key.path}': {type(error).__name__}: {error}"


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def _dtype_kwarg(version: str, dtype: Any) -> Dict[str, Any]:
    # transformers 5 renamed `torch_dtype` to `dtype` (accepted since 4.56).
    minor = version.split(".")[1] if version.count(".") else "0"
    new = _major(version) >= 5 or (_major(version) == 4 and minor.isdigit() and int(minor) >= 56)
    return {"dtype": dtype} if new else {"torch_dtype": dtype}


def _device_map_kwarg(version: str, device: str) -> Dict[str, Any]:
    # Loading straight onto the device avoids a full copy in host memory; before
    # transformers 5 that needs `accelerate`, otherwise the model is moved after.
    if _major(version) >= 5:
        return {"device_map": device}
    try:
        import accelerate  # noqa: F401
    except ImportError:
        return {}
    return {"device_map": device}


MODEL_CACHE = ModelCache()
