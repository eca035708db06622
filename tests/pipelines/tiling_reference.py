"""The full-buffer tiled blend the streaming engine replaced (float32 output and weight maps of the whole image),
kept only as the reference the tests compare the engine with."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.imaging import tensor_to_uint8, uint8_to_tensor
from ganforge.pipelines.tiling import _axis_windows
from ganforge.tasks.superres.pipeline import uncomposite
from ganforge.tasks.translation.pipeline import match_channels, split_alpha


def full_buffer_blend(fn: Any, x: torch.Tensor, scale: int, tile: int, overlap: int) -> torch.Tensor:
    """fn: [1, C, h, w] -> [1, C, h * scale, w * scale], applied tile by tile to x [1, C, H, W] and blended."""
    _, _, height, width = x.shape
    if tile <= 0 or (height <= tile and width <= tile):
        return fn(x)
    out: torch.Tensor | None = None
    total = torch.zeros(1, 1, height * scale, width * scale)
    for y0, hh, wy in _axis_windows(height, tile, overlap, scale):
        for x0, ww, wx in _axis_windows(width, tile, overlap, scale):
            piece = fn(x[:, :, y0 // scale : (y0 + hh) // scale, x0 // scale : (x0 + ww) // scale]).float()
            if out is None:
                out = torch.zeros(1, piece.shape[1], height * scale, width * scale)
            weight = wy[:, None] * wx[None, :]
            out[:, :, y0 : y0 + hh, x0 : x0 + ww] += piece * weight
            total[:, :, y0 : y0 + hh, x0 : x0 + ww] += weight
    assert out is not None
    return out / total


def old_upscale_array(pipe: Any, array: np.ndarray, tile: int, overlap: int) -> np.ndarray:
    """`UpscalePipeline.upscale_array` as it was before the streaming engine: every step on the whole image."""
    rgb, alpha = split_alpha(array)
    grey_in = rgb.shape[2] == 1
    t = uint8_to_tensor(match_channels(rgb, pipe.channels)[None])  # [1, C, H, W]
    big = tensor_to_uint8(full_buffer_blend(pipe.upscale_tensor, t, pipe.scale, tile, overlap).clamp(-1, 1))[0]
    big = match_channels(big, 1 if grey_in and alpha is None else 3 if alpha is not None else rgb.shape[2])
    if alpha is None:
        return big
    h, w = alpha.shape[:2]
    size = (w * pipe.scale, h * pipe.scale)
    big_alpha = np.asarray(Image.fromarray(alpha[:, :, 0]).resize(size, Image.Resampling.BICUBIC))[:, :, None]
    return np.concatenate([uncomposite(big, big_alpha), big_alpha], axis=2)
