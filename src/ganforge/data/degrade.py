"""Degradations that turn a high-resolution image into a super-resolution model's low-resolution input.

Every function takes and returns uint8 arrays [H, W, C] (C 1 or 3) and is a pure function of its inputs
and of the NumPy generator it is given, so a training pair is a pure function of (seed, step, position)
and resume is exact.

- `bicubic`: the classic protocol: shrink by the scale with Pillow's bicubic filter on the uint8 image,
  rounded back to uint8 (as the LR PNGs of the standard benchmarks are stored). Pillow widens the kernel
  by the scale when shrinking (antialiasing), as MATLAB's `imresize` does; both use a = -0.5, so the
  result is close to, not bit-identical with, MATLAB-made benchmark inputs.
- `realistic`: one order of Real-ESRGAN's chain (Wang et al., 2021), for real-world photos: blur with a
  random isotropic or anisotropic Gaussian kernel, resize by a random factor with a random filter, add
  Gaussian or Poisson noise (colour or grey), then JPEG through Pillow at a random quality and the final
  resize to the low resolution, in either order (as Real-ESRGAN's last stage). Its second order and sinc
  filters are left out.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.errors import DataError

DEGRADATIONS = ("bicubic", "realistic")

# Real-ESRGAN's first-order ranges.
BLUR_SIGMA = (0.2, 3.0)
BLUR_KERNEL_MAX = 21
RESIZE_PROB = (0.2, 0.7, 0.1)  # up, down, keep
RESIZE_RANGE = (0.15, 1.5)
GAUSSIAN_NOISE_PROB = 0.5  # else Poisson
NOISE_SIGMA = (1.0, 30.0)  # Gaussian, in uint8 units
POISSON_SCALE = (0.05, 3.0)
GRAY_NOISE_PROB = 0.4
JPEG_QUALITY = (30, 95)
_FILTERS = (Image.Resampling.BOX, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)  # area, bilinear, bicubic


def check_degradation(name: str) -> str:
    if name not in DEGRADATIONS:
        raise DataError(f"degradation must be {' or '.join(DEGRADATIONS)}, got {name!r}")
    return name


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)


def _array(im: Image.Image) -> np.ndarray:
    a = np.asarray(im)
    return np.ascontiguousarray(a[:, :, None] if a.ndim == 2 else a)


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"degradations take uint8 [H, W, C] images with C 1 or 3, got {image.dtype} {image.shape}")


def _low_size(image: np.ndarray, scale: int) -> tuple[int, int]:
    h, w = image.shape[:2]
    if h % scale or w % scale or h < scale or w < scale:
        raise DataError(f"a {h}x{w} image cannot be shrunk by {scale}: both sides must be positive multiples of it")
    return h // scale, w // scale


def bicubic_downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """uint8 [H, W, C] -> uint8 [H / scale, W / scale, C] by Pillow's antialiased bicubic (see the module doc)."""
    _check_image(image)
    h, w = _low_size(image, scale)
    return _array(_pil(image).resize((w, h), Image.Resampling.BICUBIC))


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """A normalised [size, size] Gaussian with standard deviations sigma_x, sigma_y along axes turned by theta."""
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T
    inv = np.linalg.inv(cov)
    r = np.arange(size) - size // 2
    xx, yy = np.meshgrid(r, r)
    grid = np.stack([xx, yy], -1).astype(np.float64)  # [size, size, 2]
    k = np.exp(-0.5 * np.einsum("...i,ij,...j->...", grid, inv, grid))
    return k / k.sum()


def random_kernel(rng: np.random.Generator) -> np.ndarray:
    """Isotropic (half the time) or anisotropic Gaussian, sigmas in BLUR_SIGMA, odd size covering 3 sigma."""
    sx = rng.uniform(*BLUR_SIGMA)
    if rng.random() < 0.5:
        sy, theta = sx, 0.0
    else:
        sy, theta = rng.uniform(*BLUR_SIGMA), rng.uniform(-math.pi, math.pi)
    size = min(BLUR_KERNEL_MAX, 2 * math.ceil(3 * max(sx, sy)) + 1)
    return gaussian_kernel(size, sx, sy, theta)


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with `kernel` (reflect padding; edge replication where the image is too small)."""
    x = torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[:, None]  # [C, 1, H, W]
    pad = kernel.shape[0] // 2
    mode = "reflect" if pad < min(image.shape[:2]) else "replicate"
    x = F.pad(x, (pad, pad, pad, pad), mode=mode)
    out = F.conv2d(x, torch.from_numpy(kernel.astype(np.float32))[None, None])
    return np.clip(np.round(out[:, 0].permute(1, 2, 0).numpy()), 0, 255).astype(np.uint8)


def add_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian (sigma in NOISE_SIGMA) or Poisson (scale in POISSON_SCALE) noise, grey with GRAY_NOISE_PROB."""
    x = image.astype(np.float64) / 255
    gray = rng.random() < GRAY_NOISE_PROB
    shape = (*x.shape[:2], 1) if gray else x.shape
    if rng.random() < GAUSSIAN_NOISE_PROB:
        noise = rng.normal(0.0, rng.uniform(*NOISE_SIGMA) / 255, shape)
    else:
        scale = rng.uniform(*POISSON_SCALE)
        base = x.mean(axis=2, keepdims=True) if gray else x
        vals = 2 ** np.ceil(np.log2(max(len(np.unique(np.round(base * 255))), 2)))  # as BasicSR's Poisson noise
        noise = (rng.poisson(base * vals) / vals - base) * scale
    return np.clip(np.round((x + noise) * 255), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode through Pillow's JPEG at `quality`."""
    buf = io.BytesIO()
    _pil(image).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        out = _array(im.convert("L" if image.shape[2] == 1 else "RGB"))
    return out


def _resize(image: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = size
    return _array(_pil(image).resize((w, h), _FILTERS[int(rng.integers(len(_FILTERS)))]))


def realistic_degrade(image: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 [H, W, C] -> uint8 [H / scale, W / scale, C] through the Real-ESRGAN-style chain (module doc)."""
    _check_image(image)
    low = _low_size(image, scale)
    h, w = image.shape[:2]
    x = blur(image, random_kernel(rng))
    kind = rng.choice(3, p=RESIZE_PROB)
    factor = (rng.uniform(1.0, RESIZE_RANGE[1]) if kind == 0 else rng.uniform(RESIZE_RANGE[0], 1.0) if kind == 1
              else 1.0)
    mid = (max(1, round(h * factor)), max(1, round(w * factor)))
    if mid != (h, w):
        x = _resize(x, mid, rng)
    x = add_noise(x, rng)
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    if rng.random() < 0.5:
        x = _resize(jpeg(x, quality), low, rng)
    else:
        x = jpeg(_resize(x, low, rng), quality)
    assert x.shape[:2] == low, (x.shape, low)
    return x


def degrade(image: np.ndarray, scale: int, kind: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """The low-resolution input for `image` by degradation `kind` (bicubic ignores `rng`)."""
    if check_degradation(kind) == "bicubic":
        return bicubic_downscale(image, scale)
    if rng is None:
        raise ValueError("the realistic degradation needs a seeded numpy Generator")
    return realistic_degrade(image, scale, rng)


def pair_rng(seed: int, step: int, position: int) -> np.random.Generator:
    """The generator of one training pair: a pure function of (seed, step, position in the global batch)."""
    return np.random.default_rng([0x5352, int(seed), int(step), int(position)])


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator, flips: bool = True) -> np.ndarray:
    """A `size` x `size` crop at a random position, randomly flipped and turned by 90 degrees (SR training's
    usual augmentation); the whole image when it is already that size."""
    h, w = image.shape[:2]
    if h < size or w < size:
        raise DataError(f"cannot crop {size}x{size} from a {h}x{w} image")
    top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    crop = image[top : top + size, left : left + size]
    if flips:
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crop = np.rot90(crop, int(rng.integers(4)))
    return np.ascontiguousarray(crop)


def training_pair(source: np.ndarray, size: int, scale: int, kind: str,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(high-resolution crop uint8 [size, size, C], its low-resolution input [size / scale, ...]) of `source`."""
    hr = random_crop(source, size, rng)
    return hr, degrade(hr, scale, kind, rng)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centred `size` x `size` crop (evaluation's fixed crop)."""
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(image[top : top + size, left : left + size])
