"""What differs between Llama model families, in one table.

A `model_version` label names a family (its provider's spec says which); the
block, the providers and the local backend read the family here. Adding a
family is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Literal


@dataclass(frozen=True)
class ModelFamily:
    name: str  # as docs and messages say it
    # What the family's image processor reads: one grid of at most `max_tiles`
    # square tiles of `tile` px (best fit, aspect kept). A larger image is
    # downscaled there, so the block never sends more.
    tile: int
    max_tiles: int
    # Whether the chat template accepts a system message beside an image. The
    # block puts its instructions in the user turn either way.
    system_message_with_image: bool
    # Images one request may carry, as Meta documents it. The block sends one.
    max_images: int
    # How Cloudflare Workers AI takes the image: the `image` byte array of the
    # request, or a data URI in the message's content.
    cloudflare_image: Literal["bytes", "data_uri"]
    # `model_type` in a checkpoint's config.json (the in-process backend).
    model_type: str
    license: str


LLAMA_32_VISION = "llama-3.2-vision"
LLAMA_4 = "llama-4"

FAMILIES: Dict[str, ModelFamily] = {
    # MllamaImageProcessor: at most 4 tiles of 560 px (2x2, or 1x4 for a strip).
    # Meta's template refuses a system message beside an image; one image per prompt.
    LLAMA_32_VISION: ModelFamily(
        name="Llama 3.2 Vision", tile=560, max_tiles=4, system_message_with_image=False,
        max_images=1, cloudflare_image="bytes", model_type="mllama", license="Llama 3.2 Community License",
    ),
    # Llama4ImageProcessor: at most 16 tiles of 336 px (about 1.8 MP), plus a
    # global thumbnail; Meta tested up to 5 images per request.
    LLAMA_4: ModelFamily(
        name="Llama 4", tile=336, max_tiles=16, system_message_with_image=True,
        max_images=5, cloudflare_image="data_uri", model_type="llama4", license="Llama 4 Community License",
    ),
}

