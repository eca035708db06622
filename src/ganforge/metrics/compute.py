"""One call for the standard metrics between real and generated images: FID, KID, precision/recall."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.extract import (
    array_batches,
    array_fingerprint,
    cache_key,
    cached_features,
    extract_features,
    folder_batches,
    folder_images,
    generator_batches,
)
from ganforge.metrics.features import EXTRACTOR_NAME, get_extractor
from ganforge.metrics.fid import fid_from_features
from ganforge.metrics.kid import KID_SUBSETS, kernel_inception_distance, kid_subset_size
from ganforge.metrics.prdc import precision_recall
from ganforge.metrics.resize import RESIZE_MODE

log = logging.getLogger("ganforge")


def count_label(n: int) -> str:
    """fid5k for 5000 images, fid1797 for 1797: the name always carries the sample count."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def subset_indices(total: int, n: int | None, seed: int = 0) -> np.ndarray:
    """A fixed random subset: datasets are often stored class by class, so a prefix would be one class."""
    if n is None or n >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


def _source_features(source: Any, n: int | None, extractor, batch_size: int, progress, cache: bool):
    """(features, images/s or None when cached) for a dataset, array, folder or pipeline."""
    from ganforge.data.dataset import ImageDataset
    from ganforge.pipelines import ImageGenerationPipeline

    if isinstance(source, ImageGenerationPipeline):
        if n is None:
            raise GanforgeError("a generator needs a sample count n")
        return extract_features(generator_batches(source, n, batch_size), n, extractor, progress)
    if isinstance(source, ImageDataset):
        source = source.images
    if isinstance(source, np.ndarray):
        images = source[subset_indices(len(source), n)]

        def compute():
            return extract_features(array_batches(images, batch_size), len(images), extractor, progress)
        key = cache_key(array_fingerprint(images), len(images), extractor)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise GanforgeError(f"image folder {path} does not exist")
        listed, fingerprint = folder_images(path, n)

        def compute():
            skipped: list[str] = []  # images may differ in size: a list per batch, decoded as it goes
            feats, ips = extract_features(folder_batches(path, listed, batch_size, skipped), len(listed), extractor,
                                          progress)
            if len(feats) < 2:
                first = f"; the first bad one: {skipped[0]}" if skipped else ""
                raise GanforgeError(f"{path} has {len(feats)} usable images; metrics need at least 2{first}")
            if skipped:
                log.warning("skipped %d of %d images of %s that could not be read; the first: %s", len(skipped),
                            len(listed), path, skipped[0])
            return feats, ips
        key = cache_key(fingerprint, len(listed), extractor)
    else:
        raise GanforgeError(f"cannot compute metrics on a {type(source).__name__}")
    if not cache:
        return compute()
    holder: dict[str, float] = {}

    def run() -> np.ndarray:
        feats, ips = compute()
        holder["ips"] = ips
        return feats
    feats, _ = cached_features(key, run)
    return feats, holder.get("ips")


def compute_metrics(
    real: Any,
    fake: Any,
    n: int | None = None,
    metrics: tuple[str, ...] = ("fid", "kid", "pr"),
    inception: str | None = None,
    device: str = "cpu",
    batch_size: int = 32,
    progress: Callable[[str, int, int], None] | None = None,
    cache_real: bool = True,
) -> dict[str, Any]:
    """Metrics of `fake` against `real`; each a dataset, uint8 array, image folder or image pipeline.

    Real features are cached by content; the result records n, resize mode and extractor, and with KID
    its subset size and count (`kid_subset`, `kid_subsets`: see metrics.kid).
    """
    extractor = get_extractor(inception, device)
    real_feats, real_ips = _source_features(
        real, n, extractor, batch_size, (lambda d, t: progress("real", d, t)) if progress else None, cache_real)
    n_fake = n if n is not None else real_feats.shape[0]
    fake_feats, fake_ips = _source_features(
        fake, n_fake, extractor, batch_size, (lambda d, t: progress("fake", d, t)) if progress else None, False)
    label = count_label(min(real_feats.shape[0], fake_feats.shape[0]))
    result: dict[str, Any] = {
        "n_real": int(real_feats.shape[0]), "n_fake": int(fake_feats.shape[0]),
        "extractor": EXTRACTOR_NAME, "resize": RESIZE_MODE,
    }
    if "fid" in metrics:
        result[f"fid{label}"] = fid_from_features(real_feats, fake_feats)
    if "kid" in metrics:
        mean, std = kernel_inception_distance(real_feats, fake_feats)
        result[f"kid{label}"], result[f"kid{label}_std"] = mean, std
        result["kid_subset"] = kid_subset_size(real_feats.shape[0], fake_feats.shape[0])
        result["kid_subsets"] = KID_SUBSETS
    if "pr" in metrics:
        result[f"precision{label}"], result[f"recall{label}"] = precision_recall(real_feats, fake_feats)
    rates = [r for r in (real_ips, fake_ips) if r]
    if rates:
        result["extract_images_per_sec"] = round(float(np.mean(rates)), 2)
    return result
