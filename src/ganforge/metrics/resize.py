"""Clean resizing for FID (Parmar et al., clean-fid): PIL bicubic on float data, per channel.

Resizing uint8 images or with tensor interpolation aliases and shifts FID; PIL's float ('F')
mode filters each channel properly and keeps full precision.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganforge.metrics.features import INPUT_SIZE

RESIZE_MODE = "clean-bicubic"


def clean_resize(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """uint8 or float [H, W, C] (C = 1 or 3, values 0..255) -> float32 [size, size, 3], no quantisation."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)  # grayscale -> RGB
    channels = []
    for c in range(3):
        plane = Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
        channels.append(np.asarray(plane.resize((size, size), resample=Image.BICUBIC), dtype=np.float32))
    return np.stack(channels, axis=2)
