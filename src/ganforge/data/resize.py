"""One resize for all data: centre-crop to a square, then antialiased Lanczos to R x R.

Pillow's `reducing_gap` first shrinks by an integer box filter while the image is more than
3x the target, then finishes with Lanczos: as sharp as plain Lanczos, and fast on big photos.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganforge.data.dataset import ImageDataset
from ganforge.errors import DataError

MIN_RESOLUTION = 4
MAX_RESOLUTION = 1024
RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 3.0


def check_resolution(resolution: int) -> int:
    """The resolution as an int in 4..1024, else DataError."""
    try:
        res = int(resolution)
    except (TypeError, ValueError):
        res = -1
    if res != resolution or not MIN_RESOLUTION <= res <= MAX_RESOLUTION:
        raise DataError(
            f"resolution {resolution!r} is out of range; choose an integer from {MIN_RESOLUTION} to {MAX_RESOLUTION} "
            "(powers of two such as 32, 64, 128, 256 suit most models)"
        )
    return res


def centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) box of the largest centred square."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def square_resize(
    im: Image.Image,
    resolution: int,
    box: tuple[int, int, int, int] | None = None,
    nearest: bool = False,  # label maps: class ids must never be blended
) -> Image.Image:
    """Crop `box` (default: the centred square) and resize it to resolution x resolution."""
    box = box or centre_square(*im.size)
    if box == (0, 0, *im.size) and im.size == (resolution, resolution):
        return im
    if nearest:  # no reducing_gap either: its box pre-shrink averages neighbouring ids
        return im.resize((resolution, resolution), Image.Resampling.NEAREST, box=box)
    return im.resize((resolution, resolution), RESAMPLE, box=box, reducing_gap=REDUCING_GAP)


def resize_array(images: np.ndarray, resolution: int) -> np.ndarray:
    """uint8 [N, H, W, C] (C 1 or 3) or [N, H, W] square images -> the same at resolution x resolution."""
    squeeze = images.ndim == 3
    arr = images[..., None] if squeeze else images
    n, h, w, c = arr.shape
    if (h, w) == (resolution, resolution):
        return np.array(images, dtype=np.uint8)
    out = np.empty((n, resolution, resolution, c), dtype=np.uint8)
    for i in range(n):
        im = Image.fromarray(np.ascontiguousarray(arr[i, :, :, 0] if c == 1 else arr[i]))
        res = np.asarray(square_resize(im, resolution))
        out[i] = res[..., None] if c == 1 else res
    return out[..., 0] if squeeze else out


def resize_dataset(ds: ImageDataset, resolution: int) -> ImageDataset:
    """A copy of `ds` at another resolution, labels, alpha and per-image metadata kept."""
    if ds.resolution == resolution:
        return ds
    meta = dict(ds.meta)
    meta["source_resolution"] = meta.get("source_resolution", ds.resolution)
    meta["resolution"] = resolution
    alpha = resize_array(np.asarray(ds.alpha), resolution) if ds.alpha is not None else None
    labels = None if ds.labels is None else np.array(ds.labels)
    return ImageDataset(
        resize_array(np.asarray(ds.images), resolution),
        labels,
        list(ds.class_names),
        meta,
        None,
        alpha=alpha,
        items=ds.items,
    )
