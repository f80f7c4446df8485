"""Turning a workflow image into what a provider takes: JPEG bytes to send over
HTTP (`prepare_image`), or RGB pixels for a model in this process (`prepare_pixels`)."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

import cv2
import numpy as np

from llama_vision_block.errors import InvalidImageError

# Visually clean for a VLM at a third fewer bytes than 95.
JPEG_QUALITY = 85


@dataclass(frozen=True)
class SizeLimit:
    """The largest image worth sending: what a model's processor reads (one grid of
    at most `max_tiles` square tiles of `tile` px, the image fitted in with its
    aspect kept; see families.py), and at most `max_side` on the long side."""

    tile: Optional[int] = None
    max_tiles: int = 1
    max_side: Optional[int] = None

    def longest_side(self, width: int, height: int) -> int:
        """The long side to send an image of `width` x `height` at (never more than it has)."""
        scale = 1.0
        if self.tile is not None:
            grids = [(a, b) for a in range(1, self.max_tiles + 1) for b in range(1, self.max_tiles // a + 1)]
            # The processor downscales to the grid that needs the least of it.
            scale = min(scale, max(min(a * self.tile / width, b * self.tile / height) for a, b in grids))
        side = round(max(width, height) * scale)
        return max(1, min(side, self.max_side) if self.max_side else side)


# Llama 3.2 Vision's processor: at most 4 tiles of 560 px.
DEFAULT_LIMIT = SizeLimit(tile=560, max_tiles=4)


@dataclass(frozen=True)
class PreparedImage:
    """An image as the model gets it: the size it is sent at, and (`original_size`)
    the size before any downscale, so results map back without decoding it again;
    None means unchanged."""

    width: int
    height: int
    original_size: Optional[Tuple[int, int]]

    @property
    def source_size(self) -> Tuple[int, int]:
        """(width, height) of the image this was prepared from."""
        return self.original_size or (self.width, self.height)


@dataclass(frozen=True)
class EncodedImage(PreparedImage):
    """An image ready to send over HTTP: its encoded bytes."""

    data: bytes = b""
    media_type: str = "image/jpeg"

    def data_url(self) -> str:
        """The image as a `data:` URL, the form OpenAI-style chat APIs accept."""
        encoded = base64.b64encode(self.data).decode("ascii")
        return f"data:{self.media_type};base64,{encoded}"


def prepare_image(image: Any, name: str, limit: SizeLimit = DEFAULT_LIMIT) -> EncodedImage:
    """The bytes to send for a workflow image.

    An image that arrived as a JPEG within `limit` is sent as it came, without
    decoding and re-encoding; anything else is decoded, converted and encoded.
    """
    original = original_jpeg(image, limit)
    if original is not None:
        return original
    return encode_image(decode_workflow_image(image, name), name, limit)


def original_jpeg(image: Any, limit: SizeLimit) -> Optional[EncodedImage]:
    """The image's original JPEG bytes, when they can be sent as they are."""
    try:
        source = image.to_inference_format()
    except Exception:  # anything odd: take the decoding path, which reports it
        return None
    if source.get("type") != "base64" or not isinstance(source.get("value"), str):
        return None
    value = source["value"]
    if value.startswith("data:"):
        value = value.split(",", 1)[-1]
    try:
        data = base64.b64decode(value, validate=False)
    except ValueError:
        return None
    header = read_jpeg_header(data)
    if header is None:
        return None
    width, height, components, has_exif = header
    # EXIF may rotate the picture on decoding, and CMYK JPEGs trip some decoders:
    # those take the decoding path, which normalises both.
    if has_exif or components not in (1, 3) or max(width, height) > limit.longest_side(width, height):
        return None
    return EncodedImage(width, height, None, data=data)


def read_jpeg_header(data: bytes) -> Optional[Tuple[int, int, int, bool]]:
    """(width, height, colour components, has EXIF) from a JPEG's markers, or None.

    Reads only the segment headers before the image data; decodes nothing.
    """
    if not data.startswith(b"\xff\xd8"):
        return None
    position, has_exif = 2, False
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        segment = data[position + 4 : position + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00"):
            has_exif = True
        # SOF0-SOF15 carry the frame size; C4 (DHT), C8 and CC (DAC) are not frames.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if len(segment) < 6:
                return None
            height, width = struct.unpack(">HH", segment[1:5])
            return width, height, segment[5], has_exif
        if marker == 0xDA:  # image data starts before any frame header: malformed
            return None
        position += 2 + length
    return None


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


def encode_image(pixels: np.ndarray, name: str = "image", limit: SizeLimit = DEFAULT_LIMIT) -> EncodedImage:
    """Encodes a numpy image (BGR, BGRA or grayscale; 8/16-bit or float) as JPEG.

    Images larger than `limit` are downscaled, keeping the aspect ratio.
    `name` identifies the image in error messages (for example `images[3]`).
    """
    pixels, original_size = _normalised(pixels, name, limit)
    ok, buffer = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise InvalidImageError(f"{name} could not be encoded as JPEG.")
    height, width = pixels.shape[:2]
    return EncodedImage(width, height, original_size, data=buffer.tobytes())


@dataclass(frozen=True)
class PixelImage(PreparedImage):
    """An image for a model in this process: RGB pixels (height x width x 3, uint8)."""

    pixels: Any = None


def prepare_pixels(image: Any, name: str, limit: SizeLimit = DEFAULT_LIMIT) -> PixelImage:
    """The RGB pixels of a workflow image, downscaled to `limit`: what a model in
    this process takes, without the JPEG round trip an HTTP provider needs."""
    pixels, original_size = _normalised(decode_workflow_image(image, name), name, limit)
    height, width = pixels.shape[:2]
    return PixelImage(width, height, original_size, pixels=cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))


def preparer(image_form: str) -> Callable[[Any, str, SizeLimit], PreparedImage]:
    """How to prepare images for a provider whose spec says it takes `image_form`:
    "jpeg" (bytes to send) or "pixels" (a model in this process)."""
    return prepare_pixels if image_form == "pixels" else prepare_image


def _normalised(pixels: Any, name: str, limit: SizeLimit) -> Tuple[np.ndarray, Tuple[int, int]]:
    """8-bit BGR pixels within `limit`, and the (width, height) they came at."""
    pixels = _to_bgr8(pixels, name)
    original_height, original_width = pixels.shape[:2]
    max_side = limit.longest_side(original_width, original_height)
    return _downscale(pixels, max_side), (original_width, original_height)


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
    """Shrinks the long side to `max_side`, keeping the aspect ratio; never upscales.

    Exact halvings with INTER_AREA (a fast path in OpenCV) average away detail
    that would alias, then one bilinear step reaches the target: about a fifth
    of the CPU of a single INTER_AREA resize at a fractional scale.
    """
    height, width = pixels.shape[:2]
    while max(height, width) >= 2 * max_side:
        height, width = height // 2, width // 2
        pixels = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
    longest = max(height, width)
    if longest <= max_side:
        return pixels
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR)
