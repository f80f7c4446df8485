import numpy as np


def make_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A BGR test image of the given size with some texture, so JPEG has work to do."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
