"""Super-resolution pipeline: images of any size in, images `scale` times larger out.

    pipe = ganforge.load("runs/superres-srresnet-photos-64")        # an UpscalePipeline
    big = pipe("photo.jpg", tile=128, tile_overlap=16, output_type="pil")[0]
    arrays = pipe([a, b], output_type="np")                          # a list when sizes differ

Inputs may be paths, PIL images or uint8 NumPy arrays ([H, W], [H, W, 1], [H, W, 3], [H, W, 4]) of at
least 2 x 2 pixels. Large images are cut into overlapping tiles of `tile` x `tile` input pixels (0: never
tile), each upscaled alone, and blended with feathered weights: inside the `tile_overlap`-pixel band a
tile shares with its neighbour, its weight falls linearly towards its edge while the neighbour's rises, and
the weighted sum is divided by the sum of weights, so the seams are invisible and memory stays bounded by
the tile (plus the output itself). A constant image gives a constant image whenever the network does.

Grey images on a colour model are repeated to three channels and the output turned back to grey (luma);
colour images on a grey model go through its luma. RGBA: the colour is composited onto white (as the
training data were), upscaled by the network, and the alpha channel is upscaled separately with Pillow's
bicubic filter (smooth, with no invented detail: a network trained on photos has never seen an alpha
mask); where alpha is partial the white is then taken back out of the colour (c = (c' - 255 (1 - a)) / a),
so semi-transparent edges keep their own colour rather than a white halo. Runs under `torch.no_grad()` on
the EMA generator when the run kept one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.imaging import tensor_to_uint8, to_pil, uint8_to_tensor
from ganforge.pipelines.base import PIPELINES, Pipeline, check_output_type
from ganforge.pipelines.translation import ImageInput, as_array, match_channels, split_alpha

DEFAULT_TILE = 128  # input pixels per tile side
DEFAULT_OVERLAP = 16  # input pixels shared by neighbouring tiles
MIN_SIDE = 2
ALPHA_MIN = 1.0 / 255  # below this the colour of a pixel does not matter


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


def blend_weights(height: int, width: int, tile: int, overlap: int, scale: int) -> torch.Tensor:
    """The summed tile windows [H * scale, W * scale] before normalisation (tests: positive everywhere)."""
    total = torch.zeros(height * scale, width * scale)
    for y0, hh, wy in _axis_windows(height, tile, overlap, scale):
        for x0, ww, wx in _axis_windows(width, tile, overlap, scale):
            total[y0 : y0 + hh, x0 : x0 + ww] += wy[:, None] * wx[None, :]
    return total


def tiled_apply(fn: Any, x: torch.Tensor, scale: int, tile: int, overlap: int) -> torch.Tensor:
    """fn: [1, C, h, w] -> [1, C, h * scale, w * scale], applied tile by tile to x [1, C, H, W] and blended."""
    assert x.ndim == 4 and x.shape[0] == 1, x.shape  # [1, C, H, W]
    _, _, height, width = x.shape
    if tile <= 0 or (height <= tile and width <= tile):
        return fn(x)
    if not 0 <= overlap < tile / 2:
        raise GanforgeError(f"--tile-overlap must lie in [0, tile / 2), got {overlap} with --tile {tile}")
    out: torch.Tensor | None = None
    total = torch.zeros(1, 1, height * scale, width * scale, device=x.device)
    for y0, hh, wy in _axis_windows(height, tile, overlap, scale):
        for x0, ww, wx in _axis_windows(width, tile, overlap, scale):
            piece = fn(x[:, :, y0 // scale : (y0 + hh) // scale, x0 // scale : (x0 + ww) // scale]).float()
            if out is None:
                out = torch.zeros(1, piece.shape[1], height * scale, width * scale, device=x.device)
            weight = (wy[:, None] * wx[None, :]).to(x.device)
            out[:, :, y0 : y0 + hh, x0 : x0 + ww] += piece * weight
            total[:, :, y0 : y0 + hh, x0 : x0 + ww] += weight
    assert out is not None
    return out / total


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """uint8 [H, W, 1] -> [H * scale, W * scale, 1] by Pillow's bicubic filter."""
    h, w = alpha.shape[:2]
    big = Image.fromarray(alpha[:, :, 0]).resize((w * scale, h * scale), Image.Resampling.BICUBIC)
    return np.asarray(big)[:, :, None]


def uncomposite(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Take the white background back out of colour composited onto it: c = (c' - 255 (1 - a)) / a."""
    a = alpha.astype(np.float32) / 255
    safe = np.maximum(a, ALPHA_MIN)
    colour = (rgb.astype(np.float32) - 255 * (1 - a)) / safe
    colour = np.where(a >= ALPHA_MIN, colour, rgb.astype(np.float32))
    return np.clip(np.round(colour), 0, 255).astype(np.uint8)


@PIPELINES.register("superres")
class UpscalePipeline(Pipeline):
    """`pipe(images, tile=128, tile_overlap=16, output_type="pil")`; see the module doc."""

    @property
    def scale(self) -> int:
        return int(self.config["scale"])

    @property
    def channels(self) -> int:
        return int(self.config.get("channels", 3))

    @property
    def resolution(self) -> int:
        return int(self.config["resolution"])

    @property
    def generator(self) -> torch.nn.Module:
        return self.components["generator"]

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, h, w] in [-1, 1] -> [N, C, h * scale, w * scale] in [-1, 1], in one pass (no tiling)."""
        return self.generator(x.to(self.device)).float().clamp(-1, 1)

    @torch.no_grad()
    def upscale_batch(self, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """uint8 [N, h, w, C] (C the model's) -> uint8 [N, h * scale, w * scale, C], in batches, untiled:
        what an evaluation on the test split calls."""
        if images.ndim != 4 or images.dtype != np.uint8 or images.shape[3] != self.channels:
            raise GanforgeError(f"upscale_batch takes uint8 [N, H, W, {self.channels}], got {images.dtype} "
                                f"{images.shape}")
        outs = []
        for i in range(0, len(images), batch_size):
            outs.append(tensor_to_uint8(self.upscale_tensor(uint8_to_tensor(images[i : i + batch_size]))))
        return np.concatenate(outs)

    @torch.no_grad()
    def upscale_array(self, array: np.ndarray, tile: int = DEFAULT_TILE, tile_overlap: int = DEFAULT_OVERLAP) -> np.ndarray:
        """One uint8 image [H, W, C] (C 1, 3 or 4) -> uint8 [H * scale, W * scale, C]; see the module doc."""
        h, w = array.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise GanforgeError(f"the image is {w}x{h} px; upscaling needs at least {MIN_SIDE}x{MIN_SIDE}")
        if tile and (tile < 2 * MIN_SIDE or tile <= 2 * tile_overlap):
            raise GanforgeError(f"--tile {tile} must be 0 (no tiling) or larger than twice --tile-overlap "
                                f"{tile_overlap} (and at least {2 * MIN_SIDE})")
        if tile_overlap < 0:
            raise GanforgeError(f"--tile-overlap must be >= 0, got {tile_overlap}")
        rgb, alpha = split_alpha(array)
        grey_in = rgb.shape[2] == 1
        x = match_channels(rgb, self.channels)
        t = uint8_to_tensor(x[None]).to(self.device)  # [1, C, H, W]
        out = tiled_apply(self.upscale_tensor, t, self.scale, tile, tile_overlap).clamp(-1, 1)
        big = tensor_to_uint8(out)[0]
        big = match_channels(big, 1 if grey_in and alpha is None else 3 if alpha is not None else rgb.shape[2])
        if alpha is None:
            return big
        big_alpha = upscale_alpha(alpha, self.scale)
        return np.concatenate([uncomposite(big, big_alpha), big_alpha], axis=2)

    def __call__(
        self,
        images: ImageInput | Sequence[ImageInput],
        tile: int = DEFAULT_TILE,
        tile_overlap: int = DEFAULT_OVERLAP,
        output_type: str = "pil",
    ) -> Any:
        """Upscale one image or a list; returns a list of PIL images ("pil"), a uint8 [N, H, W, C] array ("np",
        a list when sizes differ) or a [N, C, H, W] tensor in [-1, 1] ("pt", a list when sizes differ)."""
        single = isinstance(images, (str, Path, Image.Image, np.ndarray)) and not (
            isinstance(images, np.ndarray) and images.ndim == 4)
        items = [images] if single else list(images)
        if not items:
            raise GanforgeError("no images to upscale")
        check_output_type(output_type)
        arrays = [self.upscale_array(as_array(item), tile, tile_overlap) for item in items]
        same = len({a.shape for a in arrays}) == 1
        if output_type == "np":
            return np.stack(arrays) if same else arrays
        if output_type == "pt":
            tensors = [uint8_to_tensor(a[None])[0] for a in arrays]
            return torch.stack(tensors) if same else tensors
        return [to_pil(a) if a.shape[2] != 4 else Image.fromarray(a, "RGBA") for a in arrays]
