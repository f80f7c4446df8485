"""Local GPU: Llama 3.2 Vision run in this process with Hugging Face `transformers`.

`create_backend(model, settings)` checks the checkpoint directory
(`settings.model_path`, else `$LLAMA_VISION_MODEL_PATH`), picks the device
(`settings.device`, else CUDA when torch sees a GPU, else the CPU) and takes the
loaded model from the process-wide `MODEL_CACHE` (loading it on first use, offline).

`complete()` applies the checkpoint's chat template (one user turn: the image,
then the text) in the caller's thread, then queues the
request on the model's micro-batcher (`batcher.py`). Needs `torch` and
`transformers`, which the package does not install. See docs/local-gpu.md.
"""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path
from typing import Any, List, Optional

from llama_vision_block.errors import ConfigurationError, ProviderError, StepProviderError
from llama_vision_block.images import PixelImage, PreparedImage
from llama_vision_block.prompts import Prompt
from llama_vision_block.providers.base import Generation, ProviderSettings, Reply, VisionRequest
from llama_vision_block.providers.local.batcher import PROVIDER, BatchStats, Job
from llama_vision_block.providers.local.grammar import INSTALL_HINT
from llama_vision_block.schemas import ResponseSchema
from llama_vision_block.providers.local.checkpoint import check_checkpoint
from llama_vision_block.providers.local.generation import is_sampling
from llama_vision_block.providers.local.model_cache import MODEL_CACHE, LoadedModel, ModelKey
from llama_vision_block.families import FAMILIES, LLAMA_32_VISION, LLAMA_4
from llama_vision_block.providers.spec import Need, ProviderSpec, Served, StepSetting

MODEL_PATH_ENV = "LLAMA_VISION_MODEL_PATH"
# Images per `generate` call when the step sets no `batch_size`. On a GPU a batch
# costs little more time than one image; by our estimate 8 fit the 11B model on a
# 40 GB card (and an out-of-memory batch is split anyway). On the CPU, batching
# buys little and multiplies the memory, so images go one by one.
DEFAULT_BATCH_SIZE_CUDA = 8
DEFAULT_BATCH_SIZE_CPU = 1

# Logged once per step run by the provider registry when a step sets them.
PARAMETER_NOTES = {
    name: f"`{name}` is ignored by the {PROVIDER} provider: transformers has no "
    "equivalent (repetition_penalty is honoured)."
    for name in ("frequency_penalty", "presence_penalty")
}

logger = logging.getLogger(__name__)
_DEVICE = re.compile(r"cuda(?::(\d+))?")


def create_backend(
    model: str, settings: ProviderSettings, family: str = LLAMA_32_VISION
) -> "LocalTransformersBackend":
    """A backend that runs the checkpoint at `model_path`, which must hold a model of
    `family`; `model` names it in messages."""
    # The block has checked what the caller chose against the operator's settings.
    chosen_device, model_path = settings.option("device"), settings.option("model_path")
    path = resolve_model_path(model_path, model)
    check_checkpoint(path, model, FAMILIES[family])
    torch = _import_torch()
    device = resolve_device(chosen_device, torch)
    batch_size = resolve_batch_size(settings.option("batch_size"), device)
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    loaded = MODEL_CACHE.get(ModelKey(path=str(path), device=device, dtype=dtype))
    return LocalTransformersBackend(model, loaded, batch_size)


class LocalTransformersBackend:
    """Queues each request on the shared model's micro-batcher and waits for it."""

    provider = PROVIDER
    endpoint = None  # in this process: nothing to reach

    def __init__(self, model: str, loaded: LoadedModel, batch_size: int) -> None:
        self.model = model
        self.loaded = loaded
        self.batch_size = batch_size

    @property
    def stats(self) -> BatchStats:
        """The batcher's counters, shared by every backend on the same loaded model."""
        return self.loaded.batcher.stats

    def complete(self, request: VisionRequest) -> Reply:
        """Returns the reply (`cut_off` when it hit `max_tokens`), or raises `ProviderError`.

        Blocks until the batch holding this request has run; nothing is retried
        here except out-of-memory batches, which the batcher splits.
        """
        try:
            text = render_prompt(self.loaded.processor, request.prompt)
        except Exception as error:  # noqa: BLE001 - jinja2's errors, from the checkpoint's template
            raise StepProviderError(PROVIDER, f"the checkpoint's chat template refused the prompt: {error}") from None
        job = Job(
            text=text,
            image=decode_image(request.image),
            generation=request.generation,
            batch_limit=self._batch_limit(request.generation),
            constraint=self._constraint(request.response_schema),
        )
        # Leased: another step's model cannot unload this one while it answers.
        with MODEL_CACHE.lease(self.loaded.key) as loaded:
            return loaded.batcher.submit(job).result()

    def _constraint(self, constraint: Optional[ResponseSchema]) -> Optional[ResponseSchema]:
        # Without xgrammar, "auto" reads answers leniently; "required" cannot be met.
        if constraint is None or self.loaded.batcher.grammars() is not None:
            return constraint
        if constraint.required:
            raise ConfigurationError(
                f"`constrained_decoding` is 'required', and the {PROVIDER} provider "
                f"constrains answers with xgrammar, which is not installed: {INSTALL_HINT}."
            )
        return None

    def _batch_limit(self, generation: Generation) -> int:
        # A seeded, sampled reply must not depend on which other images happened
        # to share its batch, so it runs alone.
        if generation.seed is not None and is_sampling(generation):
            return 1
        return self.batch_size


def resolve_model_path(model_path: Optional[str], model: str) -> Path:
    """The checkpoint directory: `model_path`, else `$LLAMA_VISION_MODEL_PATH`."""
    raw = model_path if model_path and str(model_path).strip() else os.environ.get(MODEL_PATH_ENV)
    if not raw or not raw.strip():
        raise ConfigurationError(
            f"`model_path` is required for the {PROVIDER} provider: set the step's "
            f"`model_path` (or the {MODEL_PATH_ENV} environment variable) to a local "
            f"directory holding {model} in Hugging Face format."
        )
    return Path(raw.strip()).expanduser().resolve()


def resolve_device(requested: Optional[str], torch: Any) -> str:
    """'cpu' or 'cuda:N'; by default CUDA when torch sees a GPU, else the CPU."""
    if requested is None or not str(requested).strip():
        return f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu"
    text = str(requested).strip().lower()  # of the setting's form: `provider_settings` checked it
    if text == "cpu":
        return "cpu"
    match = _DEVICE.fullmatch(text)
    if not torch.cuda.is_available():
        raise ConfigurationError(
            f"`device` is {requested!r} but torch sees no CUDA GPU (a CPU-only torch "
            "build, or no driver); install a CUDA build of torch, or set `device` to "
            "'cpu' (very slow)."
        )
    index = int(match.group(1)) if match.group(1) else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise ConfigurationError(
            f"`device` is {requested!r} but torch sees {torch.cuda.device_count()} "
            f"CUDA GPU(s) (cuda:0 to cuda:{torch.cuda.device_count() - 1})."
        )
    return f"cuda:{index}"


def resolve_batch_size(batch_size: Optional[int], device: str) -> int:
    """`batch_size`, else the device's default."""
    if batch_size is None:
        return DEFAULT_BATCH_SIZE_CUDA if device.startswith("cuda") else DEFAULT_BATCH_SIZE_CPU
    return batch_size  # checked against its declared kind and bounds


def chat_messages(prompt: Prompt) -> List[dict]:
    """The conversation in the processor's chat format: one user turn, image first."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt.text}]}]


def render_prompt(processor: Any, prompt: Prompt) -> str:
    """The prompt text after the checkpoint's chat template, ready for the assistant."""
    return processor.apply_chat_template(chat_messages(prompt), add_generation_prompt=True)


def decode_image(image: PreparedImage) -> Any:
    """The image as an upright RGB `PIL.Image`: pixels as they are (what the block
    prepares for this provider), or JPEG bytes decoded (EXIF orientation applied)."""
    from PIL import Image, ImageOps

    if isinstance(image, PixelImage):
        return Image.fromarray(image.pixels, mode="RGB")
    try:
        with Image.open(io.BytesIO(image.data)) as opened:
            return ImageOps.exif_transpose(opened).convert("RGB")
    except Exception as error:  # noqa: BLE001 - PIL raises several kinds
        raise ProviderError(PROVIDER, f"the image could not be decoded: {error}") from None


def _import_torch() -> Any:
    try:
        import torch
        from transformers import MllamaForConditionalGeneration  # noqa: F401
    except ImportError as error:
        raise ConfigurationError(
            f"the {PROVIDER} provider needs `torch` and `transformers` >= 4.45 (with "
            f"`torchvision` and `pillow`) installed; {error}."
        ) from None
    return torch


SPEC = ProviderSpec(
    id="local-transformers",
    name=PROVIDER,
    # The checkpoint comes from `model_path`; the model id names it in messages.
    labels={
        "11B - Local GPU (transformers)": Served("meta-llama/Llama-3.2-11B-Vision-Instruct"),
        "90B - Local GPU (transformers)": Served("meta-llama/Llama-3.2-90B-Vision-Instruct"),
        "Llama 4 Scout - Local GPU (transformers)": Served("meta-llama/Llama-4-Scout-17B-16E-Instruct", LLAMA_4),
    },
    create_backend=create_backend,
    address_env=MODEL_PATH_ENV,
    blurb="in this process on a GPU, with pip install 'llama-vision-block[local]' "
    "and the checkpoint at `model_path`",
    constrains="in process with xgrammar",
    default_label="11B - Local GPU (transformers)",
    needs=(Need(MODEL_PATH_ENV, option="model_path"),),
    settings=(
        StepSetting(
            name="model_path",
            description="Local directory holding the model in Hugging Face format (what "
            "`huggingface-cli download meta-llama/Llama-3.2-11B-Vision-Instruct` leaves). "
            f"Defaults to ${MODEL_PATH_ENV}. Loaded offline, once per process.",
            examples=("/models/Llama-3.2-11B-Vision-Instruct", "$inputs.model_path"),
            guard="model_path",
        ),
        StepSetting(
            name="device",
            description="Where the local model runs: 'cuda', 'cuda:N' or 'cpu'. Defaults "
            "to the first CUDA GPU, else the CPU (slowly).",
            examples=("cuda", "cuda:1", "cpu"),
            pattern=r"(?i)\s*(cuda(:\d+)?|cpu)\s*",
            pattern_says="'cuda', 'cuda:N' or 'cpu'",
            guard="device",
        ),
        StepSetting(
            name="batch_size",
            kind="integer",
            selector=False,
            minimum=1,
            maximum=256,
            description="Images per `generate` call on the local model. Defaults to "
            f"{DEFAULT_BATCH_SIZE_CUDA} on a GPU and {DEFAULT_BATCH_SIZE_CPU} on the CPU; "
            "a batch that runs out of GPU memory is split and retried.",
        ),
    ),
    parameter_notes=PARAMETER_NOTES,
    image_form="pixels",  # no JPEG round trip between the block and the model
)
