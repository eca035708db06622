"""How close a reconstruction or an edit is to its target: PSNR, SSIM and a perceptual distance.

LPIPS cannot be had here (its backbone downloads), so the perceptual distance is named for what it is:
`inception_cosine`, 1 - the cosine similarity of the FID Inception network's 2048-d pool features of the two images
(0 for the same features), averaged over images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.metrics.image import PSNR_MAX_DB, SSIM_MIN_SIZE, psnr, ssim


def reconstruction_scores(outputs: np.ndarray, targets: np.ndarray, extractor: Any = None,
                          progress: Any = None) -> dict[str, float | None]:
    """Per-image means over uint8 [N, H, W, C] pairs: psnr (dB, all channels, capped at PSNR_MAX_DB), ssim (None
    under SSIM's window), and inception_cosine when an Inception `extractor` is given."""
    scores: dict[str, float | None] = {
        "psnr": float(psnr(outputs, targets, data_range=255.0, max_db=PSNR_MAX_DB).mean()), "ssim": None}
    if min(outputs.shape[1:3]) >= SSIM_MIN_SIZE:
        scores["ssim"] = float(ssim(outputs, targets, data_range=255.0).mean())
    if extractor is not None:
        from ganforge.metrics.harness import features

        def quiet(done: int, total: int) -> None:
            return None

        a = features(outputs, extractor, 32, False, progress or quiet)
        b = features(targets, extractor, 32, False, progress or quiet)
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)).clip(1e-12)
        scores["inception_cosine"] = float((1 - cos).mean())
    return scores


def stroke_style(images: np.ndarray, threshold: int = 128) -> dict[str, np.ndarray]:
    """Morpho-MNIST's style measures of digits (uint8 [N, H, W], [N, H, W, 1], or [N, H, W, 3] read by their luma:
    a folder-trained generator draws grey digits in RGB), per image: `slant`, the shear of the ink's second moments
    (mu11 / mu02; positive leans right), and `thickness`, ink area over the length of its skeleton, in pixels (NaN
    for an image without ink)."""
    from skimage.morphology import skeletonize

    from ganforge.data.derive import luma

    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 3:
        array = luma(array) * 255.0
    ink = array.reshape(len(array), *array.shape[1:3]) >= threshold
    slant = np.full(len(ink), np.nan)
    thickness = np.full(len(ink), np.nan)
    rows, cols = np.mgrid[: ink.shape[1], : ink.shape[2]]
    for i, mask in enumerate(ink):
        area = mask.sum()
        if area < 2:
            continue
        y, x = rows[mask] - rows[mask].mean(), cols[mask] - cols[mask].mean()
        slant[i] = -float((x * y).sum() / max((y * y).sum(), 1e-9))  # image rows grow downwards
        thickness[i] = float(area / max(skeletonize(mask).sum(), 1))
    return {"slant": slant, "thickness": thickness}
