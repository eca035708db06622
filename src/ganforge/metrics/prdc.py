"""Improved precision and recall (Kynkäänniemi et al., 2019) with k-nearest-neighbour manifolds."""

from __future__ import annotations

import numpy as np


def _pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(sq, 0, None))


def _knn_radii(feats: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest other point."""
    dist = _pairwise_distances(feats, feats)
    return np.partition(dist, k, axis=1)[:, k]  # index 0 is the point itself


def _coverage(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray, batch: int = 1024) -> float:
    """Fraction of queries inside at least one k-NN ball of the manifold."""
    inside = 0
    for i in range(0, queries.shape[0], batch):
        dist = _pairwise_distances(queries[i : i + batch], manifold)
        inside += int((dist <= radii[None, :]).any(axis=1).sum())
    return inside / queries.shape[0]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Precision: fakes inside the real manifold. Recall: reals inside the fake manifold."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if min(real.shape[0], fake.shape[0]) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples on each side")
    precision = _coverage(real, _knn_radii(real, k), fake)
    recall = _coverage(fake, _knn_radii(fake, k), real)
    return precision, recall
