import base64

import cv2
import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from inference.core.workflows.execution_engine.entities.base import ImageParentMetadata, WorkflowImageData

from llama_vision_block.errors import InvalidImageError
from llama_vision_block.images import SizeLimit, encode_image, prepare_image, read_jpeg_header
from support.images import make_image


@pytest.mark.parametrize("shape", [(480, 640, 3), (300, 100, 3), (64, 64)])
def test_jpeg_keeps_size_and_decodes(shape):
    pixels = make_image(shape[1], shape[0])[..., 0] if len(shape) == 2 else make_image(shape[1], shape[0])
    encoded = encode_image(pixels)
    assert (encoded.width, encoded.height) == (shape[1], shape[0])
    decoded = cv2.imdecode(np.frombuffer(encoded.data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape[:2] == shape[:2]


def test_data_url_carries_the_jpeg():
    encoded = encode_image(make_image(8, 8))
    header, payload = encoded.data_url().split(",", 1)
    assert header == "data:image/jpeg;base64"
    assert base64.b64decode(payload) == encoded.data


@pytest.mark.parametrize("bad", [np.zeros((0, 10, 3), np.uint8), np.zeros((4,), np.uint8), None])
def test_unusable_images_are_named(bad):
    with pytest.raises(InvalidImageError, match=r"images\[2\] is not a decodable image"):
        encode_image(bad, name="images[2]")


def _jpeg(width, height, progressive=False):
    flags = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)]
    return cv2.imencode(".jpg", make_image(width, height), flags)[1].tobytes()


def _workflow_image(data: bytes, prefix: str = ""):
    from inference.core.workflows.execution_engine.entities.base import (
        ImageParentMetadata,
        WorkflowImageData,
    )

    return WorkflowImageData(
        parent_metadata=ImageParentMetadata(parent_id="p"),
        base64_image=prefix + base64.b64encode(data).decode(),
    )


@pytest.mark.parametrize("prefix", ["", "data:image/jpeg;base64,"])
def test_a_jpeg_within_the_limit_is_sent_as_it_came(prefix):
    data = _jpeg(640, 480)
    sent = prepare_image(_workflow_image(data, prefix), "images[0]")
    assert sent.data == data and (sent.width, sent.height) == (640, 480)


def test_a_jpeg_over_the_limit_is_downscaled():
    sent = prepare_image(_workflow_image(_jpeg(2000, 1000)), "images[0]", limit=SizeLimit(max_side=1000))
    assert (sent.width, sent.height) == (1000, 500)


def test_a_jpeg_with_exif_is_decoded_so_its_orientation_applies():
    data = _jpeg(64, 48)
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"
    with_exif = data[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + data[2:]
    assert read_jpeg_header(with_exif) == (64, 48, 3, True)
    sent = prepare_image(_workflow_image(with_exif), "images[0]")
    assert sent.data != with_exif and (sent.width, sent.height) == (64, 48)


def test_a_png_is_reencoded_as_jpeg():
    png = cv2.imencode(".png", make_image(30, 20))[1].tobytes()
    sent = prepare_image(_workflow_image(png), "images[0]")
    assert sent.data[:2] == b"\xff\xd8" and (sent.width, sent.height) == (30, 20)


def test_the_header_reader_gives_size_and_components():
    assert read_jpeg_header(_jpeg(123, 45)) == (123, 45, 3, False)
    assert read_jpeg_header(_jpeg(40, 30, progressive=True)) == (40, 30, 3, False)
    gray = cv2.imencode(".jpg", np.zeros((7, 9), np.uint8))[1].tobytes()
    assert read_jpeg_header(gray) == (9, 7, 1, False)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=600))
def test_the_header_reader_never_raises(junk, cut):
    data = _jpeg(16, 16)
    for candidate in (junk, b"\xff\xd8" + junk, data[:cut], data[:cut] + junk):
        header = read_jpeg_header(candidate)
        assert header is None or len(header) == 4


@pytest.mark.parametrize(
    "size,limit,expected",
    [((3840, 2160), 1120, (1120, 630)), ((1920, 1080), 1120, (1120, 630)), ((1000, 3000), 1120, (373, 1120)),
     ((800, 600), 1120, (800, 600)), ((5000, 10), 1120, (1120, 2)), ((4480, 4480), 1120, (1120, 1120))],
)
def test_downscaling_keeps_the_aspect_ratio_and_never_upscales(size, limit, expected):
    encoded = encode_image(make_image(*size), limit=SizeLimit(max_side=limit))
    assert (encoded.width, encoded.height) == expected


def test_pixels_for_a_model_in_process_are_rgb_downscaled_and_never_jpeg_encoded():
    from llama_vision_block.images import PixelImage, prepare_pixels

    bgr = np.zeros((300, 900, 3), np.uint8)
    bgr[:, :, 0] = 255  # pure blue in BGR
    image = WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id="p"), numpy_image=bgr)

    prepared = prepare_pixels(image, "images[0]", limit=SizeLimit(max_side=450))

    assert isinstance(prepared, PixelImage)
    assert (prepared.width, prepared.height, prepared.source_size) == (450, 150, (900, 300))
    assert prepared.pixels.shape == (150, 450, 3)
    assert prepared.pixels[0, 0].tolist() == [0, 0, 255]  # RGB, exactly: no JPEG loss


def test_each_provider_gets_the_image_form_its_spec_names():
    from llama_vision_block.images import prepare_pixels, preparer
    from llama_vision_block.providers.registry import PROVIDERS

    assert {spec.id: spec.image_form for spec in PROVIDERS.values()} == {
        "openrouter": "jpeg", "cloudflare": "jpeg", "ollama": "jpeg", "openai-compatible": "jpeg", "local-transformers": "pixels",
    }
    assert preparer("pixels") is prepare_pixels and preparer("jpeg") is prepare_image


@pytest.mark.parametrize(
    "size,tile,tiles,expected",
    [((1920, 1080), 560, 4, (1120, 630)), ((4000, 1000), 560, 4, (2240, 560)), ((800, 600), 560, 4, (800, 600)),
     ((1920, 1080), 336, 16, (1680, 945)), ((4000, 3000), 336, 16, (1344, 1008)), ((4000, 4000), 336, 16, (1344, 1344))],
)
def test_an_image_is_sent_no_larger_than_the_models_processor_reads(size, tile, tiles, expected):
    encoded = encode_image(make_image(*size), limit=SizeLimit(tile=tile, max_tiles=tiles))
    assert (encoded.width, encoded.height) == expected


def test_the_steps_own_cap_applies_below_the_processors():
    encoded = encode_image(make_image(1920, 1080), limit=SizeLimit(tile=336, max_tiles=16, max_side=800))
    assert (encoded.width, encoded.height) == (800, 450)
