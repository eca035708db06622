"""What the studio accepts from a browser: uploads bounded in bytes and pixels, checked from the file's header
before anything is decoded, and corrupt files turned into a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ganforge.errors import GanforgeError

DEFAULT_MAX_UPLOAD_MB = 20.0
DEFAULT_MAX_PIXELS = 4_194_304  # 2048 x 2048: seconds, not minutes, for any tab on a laptop CPU


@dataclass(frozen=True)
class Limits:
    """Upload and output bounds; `ganforge studio --max-upload-mb/--max-pixels` set the first two."""

    max_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    max_pixels: int = DEFAULT_MAX_PIXELS  # of one uploaded image, or of an outpainted canvas
    max_images: int = 256  # images in one generated grid
    max_frames: int = 240  # frames of one interpolation

    @property
    def max_output_pixels(self) -> int:
        """An upscaled image may hold 4 x max_pixels (a 1024 px image at x4 under the default)."""
        return 4 * self.max_pixels


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.1f} Mpx"


def check_pixels(width: int, height: int, limit: int, what: str = "the image", hint: str = "") -> None:
    """A one-line error when width x height exceeds `limit` pixels."""
    if width * height > limit:
        raise GanforgeError(f"{what} is {width}x{height} ({_megapixels(width * height)}); the studio takes at most "
                            f"{_megapixels(limit)}{hint or ' (start it with a larger --max-pixels)'}")


def read_upload(path: str | Path | None, limits: Limits, what: str = "image") -> np.ndarray:
    """An uploaded image file as uint8 [H, W, C] (C 1, 3 or 4), checked in bytes and pixels before decoding."""
    from ganforge.tasks.translation.pipeline import as_array

    if path is None:
        raise GanforgeError(f"no {what} given: upload one first")
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise GanforgeError(f"the {what} file {path.name} is {size / 2**20:.1f} MB; the studio takes at most "
                            f"{limits.max_bytes / 2**20:.1f} MB (start it with a larger --max-upload-mb)")
    try:
        with Image.open(path) as im:  # the header only: nothing is decoded yet
            check_pixels(im.width, im.height, limits.max_pixels, f"the {what} {path.name}")
            im.load()
            image = ImageOps.exif_transpose(im)  # a copy, turned upright: the file is closed after this block
    except GanforgeError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise GanforgeError(f"cannot read the {what} {path.name}: it is not an image file Pillow can decode "
                            f"({exc.__class__.__name__})") from None
    return as_array(image)
