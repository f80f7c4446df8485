"""Turning a workflow image into the bytes a provider receives."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from llama_vision_block.errors import InvalidImageError

JPEG_QUALITY = 90
# Llama 3.2 Vision reads an image as at most 2x2 tiles of 560 px: a longer side
# than 1120 px is bytes and latency for nothing.
MAX_SIDE_PX = 1120


@dataclass(frozen=True)
class EncodedImage:
    """An image ready to send: its encoded bytes and the size it was sent at."""

    data: bytes
    width: int
    height: int
    media_type: str = "image/jpeg"

    def data_url(self) -> str:
        """The image as a `data:` URL, the form OpenAI-style chat APIs accept."""
        encoded = base64.b64encode(self.data).decode("ascii")
        return f"data:{self.media_type};base64,{encoded}"


def decode_workflow_image(image: Any, name: str) -> np.ndarray:
    """The pixels of a workflow image; a corrupt one raises `InvalidImageError`.

    The engine decodes lazily, so a bad upload only fails here, for this image alone.
    """
    try:
        return image.numpy_image
    except Exception as error:  # the engine raises many types for undecodable data
        raise InvalidImageError(
            f"{name} could not be decoded ({type(error).__name__}); send a valid "
            "JPEG, PNG or other image file."
        ) from None


def encode_image(
    pixels: np.ndarray, name: str = "image", max_side: int = MAX_SIDE_PX
) -> EncodedImage:
    """Encodes a numpy image (BGR, BGRA or grayscale; 8/16-bit or float) as JPEG.

    Images longer than `max_side` are downscaled, keeping the aspect ratio.
    `name` identifies the image in error messages (for example `images[3]`).
    """
    pixels = _downscale(_to_bgr8(pixels, name), max_side)
    ok, buffer = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise InvalidImageError(f"{name} could not be encoded as JPEG.")
    height, width = pixels.shape[:2]
    return EncodedImage(data=buffer.tobytes(), width=width, height=height)


def _to_bgr8(pixels: Any, name: str) -> np.ndarray:
    if not isinstance(pixels, np.ndarray) or pixels.ndim not in (2, 3) or pixels.size == 0:
        raise InvalidImageError(
            f"{name} is not a decodable image (got an array of shape "
            f"{getattr(pixels, 'shape', None)}); pass a non-empty colour or grayscale image."
        )
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    pixels = _to_uint8(pixels, name)
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    if pixels.shape[2] == 4:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    if pixels.shape[2] == 3:
        return pixels
    raise InvalidImageError(
        f"{name} has {pixels.shape[2]} channels; pass a grayscale, BGR or BGRA image."
    )


def _to_uint8(pixels: np.ndarray, name: str) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return (pixels >> 8).astype(np.uint8)
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    if np.issubdtype(pixels.dtype, np.floating):
        # Floats in 0-1 are the common convention; anything else is taken as 0-255.
        scale = 255.0 if float(np.nanmax(pixels)) <= 1.0 else 1.0
        return np.clip(np.nan_to_num(pixels) * scale, 0, 255).astype(np.uint8)
    if np.issubdtype(pixels.dtype, np.integer):
        return np.clip(pixels, 0, 255).astype(np.uint8)
    raise InvalidImageError(f"{name} has pixels of type {pixels.dtype}; pass an 8-bit image.")


def _downscale(pixels: np.ndarray, max_side: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return pixels  # never upscale
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
