import base64

import cv2
import numpy as np
import pytest

from llama_vision_block.errors import InvalidImageError
from llama_vision_block.images import encode_image
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
