"""One tiled engine for the image pipelines: a network applied tile by tile to a uint8 image, its feathered blend
streamed out as finished uint8 row bands, so memory is a few tiles plus two overlap strips, never the whole image.

    for top, band in tiled_bands(image, fn, scale=4, tile=128, overlap=16):   # image uint8 [H, W, C]
        out[top : top + len(band)] = band                                      # band uint8 [rows, 4 W, C']

Tiles of `tile` x `tile` input pixels overlap their neighbours by at least `overlap` (`tile_starts`). Each output
pixel is the sum of the tiles covering it, weighted by separable linear ramps over each actual overlap
(`ramp_window`), divided by the sum of those weights. The weights are products wy(y) wx(x), so that sum is the outer
product of two 1-D totals: no full-size weight map is ever stored.

Tile rows run top to bottom and tiles left to right. When a tile is done, its columns up to the next tile's start
are complete for the rows above the next tile row's start: they are normalised, rounded to uint8 and put in the
band. What later tiles still add to is carried as weighted float sums: a strip [tile rows, overlap columns] into
the next tile on the right, and a strip [overlap rows, W] into the next tile row. Each tile is read from the uint8
input and converted to float on its own (`prepare` may first change its channels or alpha, pixel by pixel).
Rows above the current band's end are never read again, so a caller may write the bands back into the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from ganforge.errors import GanforgeError
from ganforge.imaging import to_unsigned, uint8_to_tensor

Box = tuple[int, int, int, int]  # (top, bottom, left, right) of a tile, in input pixels
TileFn = Callable[[torch.Tensor, Box], torch.Tensor]  # [1, C, h, w] in [-1, 1], box -> [1, C, h * s, w * s]


def check_tiling(tile: int, overlap: int, minimum: int = 4) -> None:
    """Refuse a tile/overlap pair the blend cannot use, with the CLI's option names (tile 0 = never tile)."""
    if overlap < 0:
        raise GanforgeError(f"--tile-overlap must be >= 0, got {overlap}")
    if tile < 0 or (tile and (tile < minimum or tile <= 2 * overlap)):
        raise GanforgeError(f"--tile {tile} must be 0 (no tiling) or larger than twice --tile-overlap {overlap} "
                            f"(and at least {minimum})")


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles of `tile` px covering `size` px, neighbours overlapping by at least `overlap`."""
    if size <= tile:
        return [0]
    step = tile - overlap
    count = -(-(size - overlap) // step)  # ceil
    starts = np.linspace(0, size - tile, count).round().astype(int)
    return sorted(set(int(s) for s in starts))


def ramp_window(length: int, ramp_before: int, ramp_after: int) -> torch.Tensor:
    """[length] weights: 1 in the middle, rising linearly over `ramp_before` px at the start and falling over
    `ramp_after` px at the end (0 = no ramp: an image edge). Every weight is positive; two overlapping
    complementary ramps sum to 1."""
    w = torch.ones(length, dtype=torch.float64)
    pos = torch.arange(length, dtype=torch.float64) + 0.5
    if ramp_before > 0:
        w = torch.minimum(w, pos / ramp_before)
    if ramp_after > 0:
        w = torch.minimum(w, (length - pos) / ramp_after)
    return w.float()


def _axis_windows(size: int, tile: int, overlap: int, scale: int) -> list[tuple[int, int, torch.Tensor]]:
    """(output start, output length, window) per tile along one axis, ramps over the actual overlaps."""
    starts = tile_starts(size, tile, overlap)
    out = []
    for i, s in enumerate(starts):
        length = min(tile, size - s)
        before = (starts[i - 1] + tile - s) if i > 0 else 0
        after = (s + length - starts[i + 1]) if i + 1 < len(starts) else 0
        out.append((s * scale, length * scale, ramp_window(length * scale, before * scale, after * scale)))
    return out


def axis_total(size: int, tile: int, overlap: int, scale: int) -> torch.Tensor:
    """[size * scale] sum of the tile windows along one axis: the blend's normaliser is the outer product of two."""
    total = torch.zeros(size * scale)
    for start, length, window in _axis_windows(size, tile, overlap, scale):
        total[start : start + length] += window
    return total


def blend_weights(height: int, width: int, tile: int, overlap: int, scale: int) -> torch.Tensor:
    """The summed tile windows [H * scale, W * scale] as a full map (tests only: the engine never builds it)."""
    total = torch.zeros(height * scale, width * scale)
    for y0, hh, wy in _axis_windows(height, tile, overlap, scale):
        for x0, ww, wx in _axis_windows(width, tile, overlap, scale):
            total[y0 : y0 + hh, x0 : x0 + ww] += wy[:, None] * wx[None, :]
    return total


def tiled_bands(
    image: np.ndarray,
    fn: TileFn,
    scale: int = 1,
    tile: int = 128,
    overlap: int = 16,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
    needed: Callable[[Box], bool] | None = None,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[int, np.ndarray]]:
    """(first output row, uint8 [rows, W * scale, C']) bands of the blended output, top to bottom, covering it once.

    `prepare` maps each uint8 tile [h, w, C] to the uint8 tile fn takes (pointwise: alpha, channels); `needed(box)`
    False skips a tile whose output the caller will not use (its pixels then hold only other tiles' share, or
    mid-grey where no tile ran). `tile` 0 (or an image within one tile) runs fn once on the whole image.
    """
    assert image.ndim == 3 and image.dtype == np.uint8, (image.dtype, image.shape)  # [H, W, C]
    height, width = image.shape[:2]
    prep = prepare or (lambda a: a)
    channels = prep(image[:1, :1]).shape[2]
    if tile <= 0 or (height <= tile and width <= tile):
        tile = max(height, width)
    elif not 0 <= overlap < tile / 2:
        raise GanforgeError(f"--tile-overlap must lie in [0, tile / 2), got {overlap} with --tile {tile}")
    rows, cols = _axis_windows(height, tile, overlap, scale), _axis_windows(width, tile, overlap, scale)
    total_y = axis_total(height, tile, overlap, scale).to(device)
    total_x = axis_total(width, tile, overlap, scale).to(device)
    out_w = width * scale
    below: torch.Tensor | None = None  # [C', rows, W * s]: the last tile row's sums for rows the next one starts with
    for i, (y0, hh, wy) in enumerate(rows):
        y_done = rows[i + 1][0] if i + 1 < len(rows) else y0 + hh  # rows [y0, y_done) finish with this tile row
        band = np.empty((y_done - y0, out_w, channels), dtype=np.uint8)
        carry = torch.zeros(channels, y0 + hh - y_done, out_w, device=device) if y_done < y0 + hh else None
        right: torch.Tensor | None = None  # [C', hh, cols]: the last tile's sums over this tile's first columns
        wy = wy.to(device)
        for j, (x0, ww, wx) in enumerate(cols):
            x_done = cols[j + 1][0] if j + 1 < len(cols) else x0 + ww  # columns [x0, x_done) finish with this tile
            box = (y0 // scale, (y0 + hh) // scale, x0 // scale, (x0 + ww) // scale)
            if needed is None or needed(box):
                x = uint8_to_tensor(prep(image[box[0] : box[1], box[2] : box[3]])[None]).to(device)  # [1, C, h, w]
                piece = fn(x, box)
                assert piece.shape == (1, channels, hh, ww), (piece.shape, (1, channels, hh, ww))  # [1, C', h s, w s]
                acc = piece[0].float() * (wy[:, None] * wx.to(device)[None, :])  # [C', hh, ww]
            else:
                acc = torch.zeros(channels, hh, ww, device=device)
            if right is not None:
                acc[:, :, : right.shape[2]] += right
            done = acc[:, :, : x_done - x0]  # a view: finished columns, all of this tile's rows
            if below is not None:
                done[:, : below.shape[1]] += below[:, :, x0:x_done]
            norm = total_y[y0:y_done, None] * total_x[None, x0:x_done]
            band[:, x0:x_done] = to_unsigned(done[:, : y_done - y0] / norm).permute(1, 2, 0).cpu().numpy()
            if carry is not None:
                carry[:, :, x0:x_done] = done[:, y_done - y0 :]
            right = acc[:, :, x_done - x0 :] if j + 1 < len(cols) else None
        below = carry
        yield y0, band
