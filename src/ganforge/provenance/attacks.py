"""Edits a mark must survive, on float images in 0..255: real JPEG and GIF (Pillow) and differentiable stand-ins.

The real codecs are used in training too, passed straight through (their output forward, the identity backward);
the differentiable JPEG quantises 8 x 8 DCT blocks of the luminance with a soft rounding (Shin & Song, 2017).
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# The JPEG standard's luminance quantisation table (quality 50), row by row.
_LUMA_Q50 = torch.tensor([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=torch.float32).view(8, 8)


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """[C, H, W] float in 0..255 -> uint8 [H, W, C]."""
    return image.detach().round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def _pil(image: torch.Tensor) -> Image.Image:
    array = _to_uint8(image)
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def _from_pil(image: Image.Image, channels: int) -> torch.Tensor:
    array = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def straight_through(images: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
    """`edited` forward, the identity backward."""
    return images + (edited.to(images) - images).detach()


def jpeg(images: torch.Tensor, quality: int) -> torch.Tensor:
    """Real JPEG at `quality` (Pillow, 4:2:0) of [B, C, H, W] in 0..255, straight through."""
    out = []
    for image in images:
        buf = io.BytesIO()
        _pil(image).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        out.append(_from_pil(Image.open(buf), image.shape[0]))
    return straight_through(images, torch.stack(out))


def gif_palette(images: torch.Tensor) -> torch.Tensor:
    """Reduction to a 256-colour adaptive palette with Floyd-Steinberg dithering, as a GIF frame; straight through.

    Greyscale images pass unchanged (a GIF holds 256 greys exactly).
    """
    if images.shape[1] == 1:
        return images
    out = []
    for image in images:
        quantised = _pil(image).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
        out.append(_from_pil(quantised, image.shape[0]))
    return straight_through(images, torch.stack(out))


def jpeg_table(quality: int) -> torch.Tensor:
    """The libjpeg luminance table at `quality` (1-100)."""
    quality = min(max(int(quality), 1), 100)
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return ((_LUMA_Q50 * scale + 50) / 100).floor().clamp(min=1)


def _dct_matrix() -> torch.Tensor:
    k = torch.arange(8, dtype=torch.float32)
    basis = torch.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / 16)
    basis[0] *= 1 / math.sqrt(2)
    return basis * 0.5


def jpeg_luma_soft(y: torch.Tensor, quality: int) -> torch.Tensor:
    """A differentiable JPEG of luminance [B, 1, H, W]: 8 x 8 DCT, the quality's table, soft rounding, inverse."""
    b, _, h, w = y.shape
    ph, pw = (-h) % 8, (-w) % 8
    x = F.pad(y - 128.0, (0, pw, 0, ph), mode="replicate")
    hh, ww = x.shape[2:]
    blocks = x.view(b, hh // 8, 8, ww // 8, 8).permute(0, 1, 3, 2, 4)
    d = _dct_matrix().to(y)
    coeffs = d @ blocks @ d.T
    table = jpeg_table(quality).to(y)
    scaled = coeffs / table
    rounded = torch.round(scaled)
    quantised = (rounded + (scaled - rounded) ** 3) * table
    back = d.T @ quantised @ d
    out = back.permute(0, 1, 3, 2, 4).reshape(b, 1, hh, ww)[:, :, :h, :w] + 128.0
    return out.clamp(0, 255)


def resize(images: torch.Tensor, scale: float) -> torch.Tensor:
    """Bilinear resize by `scale` (antialiased when shrinking), at least 8 pixels a side."""
    h, w = images.shape[2:]
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [B, C, H, W] (reflect padding)."""
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def crop(images: torch.Tensor, area: float, generator: torch.Generator) -> tuple[torch.Tensor, tuple[int, int]]:
    """A random crop keeping `area` of the image (same aspect): the crop and its top-left corner."""
    h, w = images.shape[2:]
    ch, cw = max(8, round(h * math.sqrt(area))), max(8, round(w * math.sqrt(area)))
    top = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
    return images[:, :, top : top + ch, left : left + cw], (top, left)
