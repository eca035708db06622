"""FID, KID and precision/recall against closed forms and independent references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from ganforge.metrics import (
    feature_statistics,
    fid_from_features,
    frechet_distance,
    kernel_inception_distance,
    precision_recall,
)
from ganforge.metrics.kid import polynomial_mmd2_unbiased
from ganforge.metrics.resize import clean_resize


def test_fid_closed_form_for_commuting_covariances():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a, b = rng.uniform(0.5, 3, 5), rng.uniform(0.5, 3, 5)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T  # same eigenvectors
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fid_matches_scipy_sqrtm_for_general_covariances():
    rng = np.random.default_rng(1)
    m1, m2 = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(6), m2 @ m2.T + 0.1 * np.eye(6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-7)


def test_fid_of_a_set_with_itself_is_zero_even_when_singular():
    feats = np.random.default_rng(2).normal(size=(50, 128))  # n < d: a singular covariance
    assert abs(fid_from_features(feats, feats)) < 1e-4  # against a covariance trace of about 128
    mu, sigma = feature_statistics(feats)
    assert mu.shape == (128,) and sigma.shape == (128, 128)


def test_kid_unbiased_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    mean, std = kernel_inception_distance(x, y, subset_size=200, subsets=20)
    assert abs(mean) < 3 * std + 0.01 and std > 0
    shifted, _ = kernel_inception_distance(x, y + 1.0, subset_size=200, subsets=20)
    assert shifted > 10 * abs(mean) and shifted > 0.1


def test_kid_matches_an_explicit_double_sum():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / 35
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_kid_subsets_are_smaller_than_the_sets_so_the_spread_is_not_zero():
    # Review issue 24: with at most 1,000 images a side, subsets of min(1000, n) drawn without
    # replacement were the whole set every time, and the reported standard deviation was always 0.
    from ganforge.metrics.kid import kid_subset_size

    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(60, 8)), rng.normal(size=(50, 8)) + 0.3
    assert kid_subset_size(60, 50) == 25 and kid_subset_size(5000, 4000) == 1000
    assert kid_subset_size(3, 3) == 2 and kid_subset_size(2, 2) == 2  # the smallest KID there is
    mean, std = kernel_inception_distance(x, y)
    assert std > 0.01 * abs(mean) and std > 0


def test_kid_of_subsets_averages_to_the_whole_sets_unbiased_mmd2():
    # Sampling subsets without replacement keeps the U-statistic unbiased: averaged over every pair of
    # subsets it equals the whole sets' unbiased MMD^2 exactly (enumerated here), so KID's mean over
    # random subsets estimates the same quantity as the full-set figure, only with more noise.
    from itertools import combinations

    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(5, 3)) + 0.5
    full = polynomial_mmd2_unbiased(x, y)
    exact = np.mean([polynomial_mmd2_unbiased(x[list(a)], y[list(b)])
                     for a in combinations(range(6), 3) for b in combinations(range(5), 2)])
    assert exact == pytest.approx(full, rel=1e-10)
    x, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 4)) + 0.5
    mean, std = kernel_inception_distance(x, y, subsets=4000)
    assert mean == pytest.approx(polynomial_mmd2_unbiased(x, y), abs=4 * std / np.sqrt(4000))


def test_precision_recall_on_separable_and_overlapping_clouds():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(300, 8))
    p, r = precision_recall(real, rng.normal(size=(300, 8)) + 50.0)
    assert p == 0.0 and r == 0.0
    p, r = precision_recall(real, rng.normal(size=(300, 8)))
    assert p > 0.8 and r > 0.8
    # A fake set covering only part of the real one: precise but with low recall.
    narrow = rng.normal(size=(300, 8)) * 0.3
    p, r = precision_recall(real, narrow)
    assert p > 0.9 and r < 0.5


def test_clean_resize_keeps_float_precision_and_makes_rgb():
    gray = np.tile(np.arange(32, dtype=np.uint8)[None, :, None] * 8, (32, 1, 1))  # a ramp [32, 32, 1]
    out = clean_resize(gray)
    assert out.shape == (299, 299, 3) and out.dtype == np.float32
    assert np.allclose(out[..., 0], out[..., 2])
    assert np.any(np.abs(out - np.round(out)) > 1e-3)  # no intermediate quantisation
    flat = clean_resize(np.full((17, 17, 3), 200, np.uint8))
    assert np.allclose(flat, 200, atol=1e-3)
