"""Pairs derived from plain images: the input a translation model learns to undo.

- `edges`: a line drawing, thin dark lines on white, by XDoG (Winnemoller et al. 2012, "XDoG: an
  eXtended difference-of-Gaussians"): the difference of two Gaussian blurs is negative just inside
  every boundary, and a soft threshold turns that band into a 1-2 px anti-aliased line while flat
  regions, dark or light, stay white. Pure NumPy, so no image-processing dependency is needed.
- `gray`: ITU-R 601 luma, the input of colourisation.

Each function maps uint8 [N, H, W, C] (C 1 or 3) to uint8 [N, H, W, 1] and is deterministic, so
a derived pair can be cached under its source's fingerprint plus DERIVE_VERSION.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Bump when a recipe below changes, so cached derived pairs are rebuilt.
DERIVE_VERSION = "derive-v1"

# XDoG parameters for images of 16-256 px: sigma in pixels, the second blur k times wider,
# tau < 1 so flat regions stay positive (white), eps/phi the soft threshold on the difference.
XDOG_SIGMA = 0.7
XDOG_K = 1.6
XDOG_TAU = 0.98
XDOG_EPS = -0.01
XDOG_PHI = 100.0
_CHUNK = 256  # images per vectorised block, to bound float memory on big datasets

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _check(images: np.ndarray) -> np.ndarray:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
        raise ValueError(f"expected uint8 [N, H, W, C] with C in (1, 3), got {images.dtype} {images.shape}")
    return images


def luma(images: np.ndarray) -> np.ndarray:
    """float32 [N, H, W] in 0..1 from uint8 [N, H, W, C]."""
    x = images.astype(np.float32) / 255.0
    return x[..., 0] if x.shape[3] == 1 else x @ _LUMA


def to_gray(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 1] luma of uint8 [N, H, W, C] (a copy when C is already 1)."""
    _check(images)
    if images.shape[3] == 1:
        return np.array(images)
    return np.rint(luma(images) * 255.0).clip(0, 255).astype(np.uint8)[..., None]


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of radius ceil(3 sigma)."""
    radius = max(1, int(np.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of float [N, H, W] over H and W, edges reflected."""
    k = gaussian_kernel(sigma)
    r = len(k) // 2
    out = x
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (r, r)
        mode = "reflect" if out.shape[axis] > r else "edge"  # reflect needs more pixels than the radius
        padded = np.pad(out, pad, mode=mode)
        size = out.shape[axis]
        acc = np.zeros_like(out)
        for i, w in enumerate(k):
            acc += w * np.take(padded, np.arange(i, i + size), axis=axis)
        out = acc
    return out


def _stretch(g: np.ndarray) -> np.ndarray:
    """Per-image contrast stretch (1st-99th percentile to 0..1), so dim photos still get lines."""
    lo = np.percentile(g, 1, axis=(1, 2), keepdims=True)
    hi = np.percentile(g, 99, axis=(1, 2), keepdims=True)
    return np.clip((g - lo) / np.maximum(hi - lo, 1e-3), 0.0, 1.0)


def xdog_edges(
    images: np.ndarray,
    sigma: float = XDOG_SIGMA,
    k: float = XDOG_K,
    tau: float = XDOG_TAU,
    eps: float = XDOG_EPS,
    phi: float = XDOG_PHI,
) -> np.ndarray:
    """uint8 [N, H, W, 1] line drawings (dark lines on white) of uint8 [N, H, W, C] images."""
    _check(images)
    out = np.empty(images.shape[:3] + (1,), dtype=np.uint8)
    for start in range(0, len(images), _CHUNK):
        g = _stretch(luma(images[start : start + _CHUNK]))
        d = gaussian_blur(g, sigma) - tau * gaussian_blur(g, k * sigma)
        e = np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps)))
        out[start : start + _CHUNK, ..., 0] = np.rint(e * 255.0).clip(0, 255).astype(np.uint8)
    return out


# name -> function making the input side A from the source images (the target B is the source)
DERIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "edges": xdog_edges,
    "gray": to_gray,
}


def derive(kind: str, images: np.ndarray) -> np.ndarray:
    """The input side of a derived pair of `kind` for uint8 [N, H, W, C] source images."""
    return DERIVATIONS[kind](images)
