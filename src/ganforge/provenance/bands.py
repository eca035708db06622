"""The watermark applied a band of rows at a time, so that outputs written or held band by band (a streamed PNG, a
tiled upscale) are marked in bounded memory, and exactly as `watermark_images` marks the whole image.

The mark is a 32 x 32 tile repeated from the image's top-left corner, so rows [r0, r1) of an image carry the tile
from its row r0 % 32 on. `mark_rows` gets that by marking the band below `r0 % 32` blank rows (whole tiles from
the top, as `watermark_images` lays them) and dropping those rows again: the same numbers in the same order, so
bit for bit the rows of the whole-image mark. Bands are cut into chunks of about `CHUNK_BYTES` on the way, since
marking works in float (some 30 bytes per pixel).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ganforge.provenance.marking import watermark_images
from ganforge.provenance.watermark import TILE

CHUNK_BYTES = 1 << 22  # uint8 bytes of rows marked at once


def _chunk_rows(width: int, channels: int) -> int:
    """Rows per chunk: about CHUNK_BYTES, a whole number of tiles (never fewer than one tile)."""
    rows = CHUNK_BYTES // max(1, width * channels)
    return max(TILE, rows // TILE * TILE)


def mark_rows(rows: np.ndarray, model_id: str, top: int, when: dt.datetime) -> np.ndarray:
    """A marked copy of uint8 rows [r, W] or [r, W, C] that are rows top..top + r - 1 of an image: what those rows
    of `watermark_images(image, model_id, when)` hold. Give every band of one image the same `when`."""
    rows = np.asarray(rows)
    if rows.dtype != np.uint8 or rows.ndim not in (2, 3):
        raise ValueError(f"mark_rows takes uint8 rows [r, W] or [r, W, C], got {rows.dtype} {rows.shape}")
    if top < 0:
        raise ValueError(f"a band's first row must be >= 0, got {top}")
    out = np.empty_like(rows)
    step = _chunk_rows(rows.shape[1], rows.shape[2] if rows.ndim == 3 else 1)
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        phase = (top + start) % TILE
        if phase:  # blank rows above the chunk put it at its own place in the tile
            chunk = np.concatenate([np.zeros((phase, *chunk.shape[1:]), dtype=np.uint8), chunk])
        elif not chunk.flags.writeable:  # torch warns on read-only arrays (nothing is written to them)
            chunk = chunk.copy()
        out[start : start + step] = watermark_images(chunk, model_id, when)[phase:]
    return out


def mark_in_place(images: np.ndarray, model_id: str, when: dt.datetime) -> np.ndarray:
    """Mark uint8 images in place, a chunk of rows at a time, and return them: one [H, W] or [H, W, C], or any
    stack [..., H, W, C] (clips, batches of clips), each image from its own top-left corner."""
    if images.dtype != np.uint8 or images.ndim < 2:
        raise ValueError(f"mark_in_place takes uint8 images, got {images.dtype} {images.shape}")
    if not images.flags.writeable:
        raise ValueError("mark_in_place needs a writable array: mark a copy")
    if images.ndim <= 3:
        step = _chunk_rows(images.shape[1], images.shape[2] if images.ndim == 3 else 1)
        for top in range(0, images.shape[0], step):  # whole tiles per chunk: each starts at phase 0
            images[top : top + step] = mark_rows(images[top : top + step], model_id, top, when)
        return images
    for index in np.ndindex(*images.shape[:-3]):  # each [H, W, C] image of the stack, as a view
        mark_in_place(images[index], model_id, when)
    return images
