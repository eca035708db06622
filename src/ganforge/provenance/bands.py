"""The watermark applied a band of rows at a time, so that outputs written or held band by band (a streamed PNG, a
tiled upscale) are marked in bounded memory, and exactly as `watermark_images` marks the whole image.

The mark is a tile (32 px, or 64 on images of 512 px and more: `tile_factor` of the whole image's size) repeated
from the image's top-left corner, and at a given nominal strength its size at a pixel depends on that pixel alone,
so rows [r0, r1) of an image carry the tile from its row r0 % period on. The nominal strength is the one per-image
number: `mark_in_place` has the whole image, so it finds it as `watermark_images` does (the image's PSNR just above
the floor; its squared errors summed band by band over a few passes), while rows streamed out as they are made
(`mark_rows` alone) are marked at the nominal `TARGET_PSNR`. `mark_rows` gets that by marking the band below that many blank
rows (whole tiles from the top, as `watermark_images` lays them) and dropping those rows again: the same numbers in
the same order, so bit for bit the rows of the whole-image mark. Bands are cut into chunks of about `CHUNK_BYTES` on
the way, since marking works in float (some 30 bytes per pixel).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ganforge.provenance.marking import watermark_images
from ganforge.provenance.watermark import (
    TARGET_PSNR,
    TILE,
    calibrate_strength,
    marked_sse,
    psnr_of_sse,
    tile_factor,
)

CHUNK_BYTES = 1 << 22  # uint8 bytes of rows marked at once


def _chunk_rows(width: int, channels: int, period: int) -> int:
    """Rows per chunk: about CHUNK_BYTES, a whole number of tiles (never fewer than one tile)."""
    rows = CHUNK_BYTES // max(1, width * channels)
    return max(period, rows // period * period)


def mark_rows(rows: np.ndarray, model_id: str, top: int, when: dt.datetime, image_height: int,
              psnr: float = TARGET_PSNR) -> np.ndarray:
    """A marked copy of uint8 rows [r, W] or [r, W, C] that are rows top..top + r - 1 of an image `image_height`
    rows tall: what those rows of `watermark_images(image, model_id, when, psnr=psnr)` hold. Give every band the
    same `when` and `psnr`."""
    rows = np.asarray(rows)
    if rows.dtype != np.uint8 or rows.ndim not in (2, 3):
        raise ValueError(f"mark_rows takes uint8 rows [r, W] or [r, W, C], got {rows.dtype} {rows.shape}")
    if top < 0:
        raise ValueError(f"a band's first row must be >= 0, got {top}")
    if image_height < top + len(rows):
        raise ValueError(f"rows {top}..{top + len(rows) - 1} do not fit in an image {image_height} rows tall")
    out = np.empty_like(rows)
    factor = tile_factor(image_height, rows.shape[1])
    step = _chunk_rows(rows.shape[1], rows.shape[2] if rows.ndim == 3 else 1, TILE * factor)
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        phase = (top + start) % (TILE * factor)
        if phase:  # blank rows above the chunk put it at its own place in the tile
            chunk = np.concatenate([np.zeros((phase, *chunk.shape[1:]), dtype=np.uint8), chunk])
        elif not chunk.flags.writeable:  # torch warns on read-only arrays (nothing is written to them)
            chunk = chunk.copy()
        out[start : start + step] = watermark_images(chunk, model_id, when, factor, psnr)[phase:]
    return out


def _image_psnr(image: np.ndarray, model_id: str, when: dt.datetime, step: int, psnr: float) -> float:
    """The PSNR one image would have marked at nominal `psnr`, its bands of `step` rows marked and dropped in turn."""
    sse = count = 0
    for top in range(0, len(image), step):
        band = image[top : top + step]
        band_sse, band_count = marked_sse(band, mark_rows(band, model_id, top, when, len(image), psnr))
        sse, count = sse + band_sse, count + band_count
    return psnr_of_sse(sse, count)


def mark_in_place(images: np.ndarray, model_id: str, when: dt.datetime) -> np.ndarray:
    """Mark uint8 images in place, a chunk of rows at a time, and return them: one [H, W] or [H, W, C], or any
    stack [..., H, W, C] (clips, batches of clips), each image from its own top-left corner."""
    if images.dtype != np.uint8 or images.ndim < 2:
        raise ValueError(f"mark_in_place takes uint8 images, got {images.dtype} {images.shape}")
    if not images.flags.writeable:
        raise ValueError("mark_in_place needs a writable array: mark a copy")
    if images.ndim <= 3:
        height, width = images.shape[:2]
        step = _chunk_rows(width, images.shape[2] if images.ndim == 3 else 1, TILE * tile_factor(height, width))
        if height <= step:  # one chunk: marked whole, as `watermark_images` marks it
            images[...] = watermark_images(images, model_id, when)
            return images
        psnr = calibrate_strength(lambda nominal: _image_psnr(images, model_id, when, step, nominal))
        for top in range(0, height, step):  # whole tiles per chunk: each starts at phase 0
            images[top : top + step] = mark_rows(images[top : top + step], model_id, top, when, height, psnr)
        return images
    for index in np.ndindex(*images.shape[:-3]):  # each [H, W, C] image of the stack, as a view
        mark_in_place(images[index], model_id, when)
    return images
