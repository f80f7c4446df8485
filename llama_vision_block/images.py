"""Turning a workflow image into the bytes a provider receives."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import cv2
import numpy as np

from llama_vision_block.errors import InvalidImageError

JPEG_QUALITY = 90


@dataclass(frozen=True)
class EncodedImage:
    """An image ready to send: its encoded bytes and its size in pixels."""

    data: bytes
    width: int
    height: int
    media_type: str = "image/jpeg"

    def data_url(self) -> str:
        """The image as a `data:` URL, the form OpenAI-style chat APIs accept."""
        encoded = base64.b64encode(self.data).decode("ascii")
        return f"data:{self.media_type};base64,{encoded}"


def encode_image(pixels: np.ndarray, name: str = "image") -> EncodedImage:
    """Encodes a BGR (or grayscale) numpy image as JPEG.

    `name` identifies the image in error messages (for example `images[3]`).
    """
    if not isinstance(pixels, np.ndarray) or pixels.ndim not in (2, 3) or pixels.size == 0:
        raise InvalidImageError(
            f"{name} is not a decodable image (got an array of shape "
            f"{getattr(pixels, 'shape', None)}); pass a non-empty colour or grayscale image."
        )
    ok, buffer = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise InvalidImageError(f"{name} could not be encoded as JPEG.")
    height, width = pixels.shape[:2]
    return EncodedImage(data=buffer.tobytes(), width=width, height=height)
