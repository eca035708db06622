"""Decode one image file to RGB uint8, or say precisely why it cannot be used.

Every mode Pillow opens ends as RGB: alpha (RGBA, LA, PA, palette or colour-key transparency) is
composited onto white; 16-bit and 32-bit greyscale are scaled to 8 bits (65535 -> 255), never
clipped; CMYK, 1-bit, YCbCr and the rest go through Pillow's conversions. EXIF orientation is
applied. Pillow's decompression-bomb guard stays on and truncated files are never loaded silently.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")

# Why a file was skipped, in the order the summary lists them.
REASONS = ("corrupt", "truncated", "zero-byte", "not an image", "too large", "unreadable")

_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


class BadImage(Exception):
    """A file that cannot be used; `reason` is one of REASONS, `detail` says more."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail


def has_image_extension(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _looks_like_image(data: bytes) -> bool:
    """True when the bytes start with the signature of a format we read."""
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _riff_truncated(data: bytes) -> bool:
    """A WebP whose RIFF header declares more bytes than the file holds."""
    if data[:4] != b"RIFF" or len(data) < 12:
        return False
    return int.from_bytes(data[4:8], "little") + 8 > len(data)


@contextmanager
def decode_guard() -> Iterator[None]:
    """Make Pillow's decompression-bomb warning an error and silence its chatter about odd metadata.

    Enter it once around a batch of decodes (from the main thread: worker threads share the
    process-wide warning filters).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        yield


def _classify(exc: BaseException, data: bytes) -> BadImage:
    """Map a Pillow exception on `data` to one of REASONS."""
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return BadImage("too large", str(exc).split(",")[0])
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, UnidentifiedImageError):
        if _riff_truncated(data):
            return BadImage("truncated", "file ends before its declared length")
        return BadImage("corrupt" if _looks_like_image(data) else "not an image", "unrecognised image data")
    if "truncated" in msg.lower() or _riff_truncated(data):
        return BadImage("truncated", msg)
    return BadImage("corrupt", msg)


def open_image(data: bytes, draft_size: int | None = None) -> Image.Image:
    """Open and fully decode `data` (first frame); raise BadImage when it cannot be used.

    `draft_size` lets JPEG decode at a reduced scale that still covers draft_size x draft_size,
    which makes preparing large photos several times faster.
    """
    if not data:
        raise BadImage("zero-byte", "empty file")
    try:
        im = Image.open(io.BytesIO(data))
        if draft_size and im.format == "JPEG":
            im.draft(None, (draft_size, draft_size))
        im.load()
    except (
        OSError,
        SyntaxError,
        ValueError,
        IndexError,
        TypeError,
        EOFError,
        struct.error,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise _classify(exc, data) from None
    return im


def _to_8bit_gray(im: Image.Image) -> Image.Image:
    """16-bit or 32-bit integer greyscale, or float greyscale, scaled (not clipped) to 8 bits."""
    a = np.asarray(im)
    if im.mode == "F":
        a = a.astype(np.float64)
        scale = 1.0 if np.nanmax(a, initial=0.0) <= 1.0 else 1.0 / 255.0
        out = np.clip(np.nan_to_num(a) * scale, 0.0, 1.0) * 255.0
    else:
        a = a.astype(np.int64)
        top = int(a.max(initial=0))
        full = 65535 if top <= 65535 else top  # 16-bit data (also when stored as 32-bit "I")
        out = np.clip(a, 0, full) * (255.0 / full)
    return Image.fromarray(np.rint(out).astype(np.uint8), "L")


def _composite_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow image -> RGB, with alpha composited onto white and high bit depths scaled."""
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose an otherwise good image
        pass
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        return _to_8bit_gray(im).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        return _composite_on_white(im)
    if mode == "RGB":
        return im
    if mode == "LAB":
        from PIL import ImageCms

        lab_to_srgb = ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
        )
        return ImageCms.applyTransform(im, lab_to_srgb)
    return im.convert("RGB")  # 1, L, P, CMYK, YCbCr, HSV


def decode_rgb(data: bytes, draft_size: int | None = None) -> Image.Image:
    """Bytes of an image file -> RGB Pillow image, or BadImage."""
    im = open_image(data, draft_size)
    try:
        return to_rgb(im)
    except (OSError, ValueError) as exc:
        raise BadImage("corrupt", f"cannot convert mode {im.mode} to RGB: {exc}") from None
