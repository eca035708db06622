"""Streaming feature extraction from datasets, folders or generators, with real-set caching."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.metrics.features import EXTRACTOR_NAME, InceptionFeatures
from ganforge.metrics.resize import RESIZE_MODE, clean_resize

BatchIter = Iterator[np.ndarray]  # uint8 [B, H, W, C] batches


def extract_features(
    batches: BatchIter,
    total: int,
    extractor: InceptionFeatures,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, float]:
    """Features [N, 2048] of every image the batches yield, and the images/s it took."""
    feats, done, start = [], 0, time.perf_counter()
    for batch in batches:
        resized = np.stack([clean_resize(img) for img in batch])  # [B, 299, 299, 3] float 0..255
        x = torch.from_numpy(resized).permute(0, 3, 1, 2)
        feats.append(extractor(x).numpy())
        done += len(batch)
        if progress is not None:
            progress(done, total)
    seconds = time.perf_counter() - start
    return np.concatenate(feats), done / max(seconds, 1e-9)


def array_batches(images: np.ndarray, batch_size: int) -> BatchIter:
    for i in range(0, images.shape[0], batch_size):
        yield np.ascontiguousarray(images[i : i + batch_size])


def generator_batches(pipe, n: int, batch_size: int, seed: int = 0) -> BatchIter:
    """n generated images by seeds seed..seed+n-1 (class labels cycle for conditional models).

    Noise inputs (stylegan2) get fresh noise per seed, as StyleGAN2-ADA's metrics: the generator is judged
    as it was trained, not with const mode's one fixed draw.
    """
    for i in range(0, n, batch_size):
        seeds = list(range(seed + i, seed + min(i + batch_size, n)))
        labels = None
        if pipe.class_names:
            labels = [s % len(pipe.class_names) for s in seeds]
        # the model's own images: the watermark is for what the project writes, not what it measures
        yield pipe(seeds=seeds, class_label=labels, output_type="np", noise_mode="random", watermark=False)


def cache_key(fingerprint: str, n: int, extractor: Any = None) -> str:
    """Real-set features are keyed by content, count, the extractor that computed them (its `name`; the standard
    Inception's when it has none) and resize mode."""
    raw = f"{fingerprint}|{n}|{getattr(extractor, 'name', EXTRACTOR_NAME)}|{RESIZE_MODE}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def cached_features(key: str, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
    """Load cached features, or compute and store them atomically; returns (features, was_cached)."""
    from ganforge.engine.atomic import cached_npy
    from ganforge.paths import cache_home

    return cached_npy(cache_home() / "metrics" / f"{key}.npy", compute, dtype=np.float32)  # the writer makes the folder


def array_fingerprint(images: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()


def folder_images(path: Path, n: int | None) -> tuple[list[str], str]:
    """The names of up to n images of a folder or zip (read later, a batch at a time), and a content key."""
    from ganforge.data import folder_fingerprint, scan_images
    from ganforge.metrics.compute import subset_indices

    scan = scan_images(Path(path))
    return [scan.entries[i][0] for i in subset_indices(len(scan.entries), n)], folder_fingerprint(Path(path))


def folder_batches(path: Path, names: list[str], batch_size: int, skipped: list[str]) -> Iterator[list[np.ndarray]]:
    """Images of a folder decoded a batch at a time (memory bounded by the batch, whatever the folder holds); a
    file that cannot be decoded is skipped and its error appended to `skipped`."""
    from ganforge.data import load_image
    from ganforge.errors import GanforgeError

    batch: list[np.ndarray] = []
    for name in names:
        try:
            batch.append(np.asarray(load_image(Path(path), name)))
        except GanforgeError as exc:
            skipped.append(str(exc))
            continue
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
