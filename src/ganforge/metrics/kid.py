"""Kernel Inception Distance (Bińkowski et al.): unbiased MMD^2 with the cubic polynomial kernel.

KID is the mean of the unbiased MMD^2 over `KID_SUBSETS` random subsets, one drawn without replacement
from each side, and its spread is their standard deviation. The subset size is `kid_subset_size`:
half the smaller side, capped at `KID_MAX_SUBSET` (1000, the paper's and torch-fidelity's size).
Half, because a subset as large as the set is the set itself: every draw is then the same, and the
standard deviation reads 0 however noisy the figure is (the bug this rule replaced). Each subset's
MMD^2 is an unbiased U-statistic at any size >= 2, so the mean stays an unbiased estimate whatever the
size; smaller subsets only make it noisier, and the spread shows how much.

The standard deviation is the spread over subsets of one fixed pair of sets: a guide to the noise of a
KID computed on `subset` images, not a confidence interval for the mean over all n.
"""

from __future__ import annotations

import numpy as np

KID_MAX_SUBSET = 1000  # the largest subset: the KID paper's and torch-fidelity's default size
KID_SUBSETS = 100  # how many subset pairs the mean and standard deviation are taken over


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3 between samples x [m, d] and y [n, d]."""
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = x.shape[0], y.shape[0]
    sum_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    sum_yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * kxy.mean())


def kid_subset_size(n_real: int, n_fake: int, max_size: int = KID_MAX_SUBSET) -> int:
    """Images per KID subset: half the smaller side, at most `max_size`, at least 2 (see the module doc).

    With 2 or 3 images a side the subsets cannot be both smaller than the set and big enough for an
    unbiased MMD^2; 2 is used, so at n = 2 the standard deviation is 0 again, as it must be.
    """
    n = min(n_real, n_fake)
    if n < 2:
        raise ValueError(f"KID needs at least 2 samples on each side, got {n_real} and {n_fake}")
    return int(min(max_size, max(2, n // 2)))


def kernel_inception_distance(
    real: np.ndarray, fake: np.ndarray, subset_size: int = KID_MAX_SUBSET, subsets: int = KID_SUBSETS,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and standard deviation of MMD^2 over random subsets of `kid_subset_size(n_real, n_fake, subset_size)`.

    `subset_size` is the cap: subsets hold half the smaller side up to it, so they always vary.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = kid_subset_size(real.shape[0], fake.shape[0], subset_size)
    rng = np.random.default_rng(seed)
    values = [
        polynomial_mmd2_unbiased(real[rng.choice(real.shape[0], size, replace=False)],
                                 fake[rng.choice(fake.shape[0], size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
