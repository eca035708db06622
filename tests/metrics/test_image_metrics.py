"""PSNR, SSIM, L1, the SR Y-channel protocol and sharpness against hand values and skimage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from ganforge.metrics import (
    l1,
    psnr,
    rgb_to_y,
    sharpness,
    sharpness_difference,
    shave,
    sr_psnr_ssim,
    ssim,
    ssim_map,
)


def _random_images(seed: int, shape=(3, 32, 40, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _smooth_images(seed: int, shape=(3, 32, 40, 3)) -> np.ndarray:
    noise = np.random.default_rng(seed).uniform(0, 255, shape)
    return gaussian_filter(noise, sigma=(0, 2, 2, 0))  # float64, spatially correlated


def _noisy(images: np.ndarray, seed: int, amount: float) -> np.ndarray:
    noisy = images.astype(np.float64) + np.random.default_rng(seed).normal(0, amount, images.shape)
    return np.clip(noisy, 0, 255).astype(images.dtype) if images.dtype == np.uint8 else np.clip(noisy, 0, 255)


def _skimage_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0, **kwargs) -> np.ndarray:
    return np.array([
        structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=data_range, channel_axis=-1, **kwargs)
        for x, y in zip(a, b)
    ])


# --- PSNR and L1 ---------------------------------------------------------------------------------

def test_psnr_of_a_constant_offset_is_the_hand_value():
    target = np.full((2, 8, 8, 3), 100, np.uint8)
    pred = target + np.uint8(5)
    expected = 10 * np.log10(255.0**2 / 25.0)
    np.testing.assert_allclose(psnr(pred, target), [expected, expected], rtol=1e-12)
    # The same images as [0, 1] floats give the same dB when data_range says so.
    np.testing.assert_allclose(psnr(pred / 255.0, target / 255.0, data_range=1.0), expected, rtol=1e-12)


def test_psnr_does_not_wrap_around_uint8():
    target = np.zeros((4, 4), np.uint8)
    pred = np.full((4, 4), 10, np.uint8)  # target - pred would wrap to 246 in uint8 arithmetic
    np.testing.assert_allclose(psnr(pred, target), 10 * np.log10(255.0**2 / 100.0))
    np.testing.assert_allclose(psnr(target, pred), 10 * np.log10(255.0**2 / 100.0))


def test_psnr_of_identical_images_is_inf_unless_capped():
    images = _random_images(0)
    assert np.all(np.isinf(psnr(images, images)))
    np.testing.assert_array_equal(psnr(images, images, max_db=100.0), 100.0)
    assert np.all(psnr(images, _noisy(images, 1, 10), max_db=100.0) < 100.0)  # the cap leaves others alone


def test_psnr_is_per_image():
    target = np.full((2, 8, 8, 1), 50, np.uint8)
    pred = target.copy()
    pred[0] += 5
    pred[1] += 10
    np.testing.assert_allclose(psnr(pred, target), 10 * np.log10(255.0**2 / np.array([25.0, 100.0])))


def test_mask_restricts_psnr_and_l1_to_the_masked_pixels():
    target = _random_images(2, (2, 16, 16, 3))
    pred = target.copy()
    pred[:, :, :8] = 255 - pred[:, :, :8]  # errors only in the left half
    right = np.zeros((16, 16), bool)
    right[:, 8:] = True
    assert np.all(np.isinf(psnr(pred, target, mask=right)))
    np.testing.assert_array_equal(l1(pred, target, mask=right), 0.0)
    left = np.broadcast_to(~right, (2, 16, 16))
    inside = (pred[:, :, :8].astype(float) - target[:, :, :8]) ** 2
    np.testing.assert_allclose(psnr(pred, target, mask=left),
                               10 * np.log10(255.0**2 / inside.reshape(2, -1).mean(axis=1)))
    everywhere = np.ones((2, 16, 16), bool)
    np.testing.assert_allclose(psnr(pred, target, mask=everywhere), psnr(pred, target))


def test_l1_is_in_unit_range_for_uint8_and_float():
    target = np.zeros((1, 4, 4, 3), np.uint8)
    pred = np.full((1, 4, 4, 3), 51, np.uint8)
    np.testing.assert_allclose(l1(pred, target), [0.2])
    np.testing.assert_allclose(l1(pred / 255.0, target / 255.0, data_range=1.0), [0.2])


# --- SSIM ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [_random_images, _smooth_images], ids=["random", "smooth"])
def test_ssim_matches_skimage(make):
    target = make(3)
    for amount in (5.0, 40.0):
        pred = _noisy(target, 4, amount)
        np.testing.assert_allclose(ssim(pred, target), _skimage_ssim(pred, target), atol=1e-4)


def test_ssim_matches_skimage_on_grayscale_and_unit_floats():
    target = _smooth_images(5, (2, 24, 24, 1)) / 255.0
    pred = np.clip(target + np.random.default_rng(6).normal(0, 0.05, target.shape), 0, 1)
    expected = [structural_similarity(p[..., 0], t[..., 0], gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=1.0)
                for p, t in zip(pred, target)]
    np.testing.assert_allclose(ssim(pred, target, data_range=1.0), expected, atol=1e-4)
    np.testing.assert_allclose(ssim(pred[0, ..., 0], target[0, ..., 0], data_range=1.0), expected[:1], atol=1e-4)


def test_ssim_map_matches_skimage_full_map_and_masked_ssim_averages_it():
    target = _random_images(7, (1, 20, 24, 3))
    pred = _noisy(target, 8, 20)
    _, full = structural_similarity(pred[0], target[0], gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=255, channel_axis=-1, full=True)
    np.testing.assert_allclose(ssim_map(pred, target)[0], full.mean(axis=-1), atol=1e-10)
    mask = np.zeros((1, 20, 24), bool)
    mask[0, :6, 3:15] = True  # a hole touching the top border still counts
    np.testing.assert_allclose(ssim(pred, target, mask=mask), full.mean(axis=-1)[mask[0]].mean(), atol=1e-10)


def test_ssim_of_identical_images_is_one_and_below_one_for_shift_or_blur():
    target = _smooth_images(9, (2, 32, 32, 3))
    np.testing.assert_allclose(ssim(target, target), 1.0, atol=1e-12)
    np.testing.assert_allclose(ssim(target, target, mask=np.ones((32, 32), bool)), 1.0, atol=1e-12)
    shifted = np.roll(target, 2, axis=2)
    blurred = gaussian_filter(target, sigma=(0, 1.5, 1.5, 0))
    assert np.all(ssim(shifted, target) < 0.99)
    assert np.all(ssim(blurred, target) < 0.99)


def test_ssim_mask_ignores_errors_outside_it():
    target = _smooth_images(10, (1, 32, 32, 3))
    pred = target.copy()
    pred[:, :, :12] = 255 - pred[:, :, :12]  # errors in the left columns
    mask = np.zeros((32, 32), bool)
    mask[:, 20:] = True  # more than the 5-pixel window radius away from any error
    np.testing.assert_allclose(ssim(pred, target, mask=mask), 1.0, atol=1e-12)
    assert ssim(pred, target)[0] < 0.9


# --- Super-resolution protocol -------------------------------------------------------------------

def test_rgb_to_y_hand_values():
    pixels = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    y = rgb_to_y(pixels)
    assert y.shape == (1, 5, 1) and y.dtype == np.float64
    np.testing.assert_allclose(y[0, :, 0], [235.0, 16.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], rtol=1e-12)
    np.testing.assert_allclose(rgb_to_y(pixels / 255.0, data_range=1.0), y, rtol=1e-12)


def test_shave_crops_every_side_and_keeps_the_layout():
    batch = np.arange(2 * 10 * 12 * 3).reshape(2, 10, 12, 3)
    assert shave(batch, 2).shape == (2, 6, 8, 3)
    np.testing.assert_array_equal(shave(batch, 2), batch[:, 2:-2, 2:-2])
    assert shave(batch[0], 3).shape == (4, 6, 3)
    assert shave(batch[0, ..., 0], 1).shape == (8, 10)
    assert shave(batch, 0) is batch or np.shares_memory(shave(batch, 0), batch)
    with pytest.raises(ValueError, match="leaves nothing"):
        shave(batch, 5)
    with pytest.raises(ValueError, match="non-negative"):
        shave(batch, -1)


def test_sr_psnr_ssim_is_y_channel_with_shaved_border():
    target = _random_images(11, (2, 32, 32, 3))
    pred = _noisy(target, 12, 8)
    pred[:, :4] = 0  # damage only inside the 4-pixel border that scale 4 shaves off
    pred[:, -4:] = 255
    p, s = sr_psnr_ssim(pred, target, scale=4)
    y_pred, y_target = rgb_to_y(pred)[:, 4:-4, 4:-4], rgb_to_y(target)[:, 4:-4, 4:-4]
    mse = ((y_pred - y_target) ** 2).reshape(2, -1).mean(axis=1)
    np.testing.assert_allclose(p, 10 * np.log10(255.0**2 / mse), rtol=1e-12)
    np.testing.assert_allclose(s, _skimage_ssim(y_pred, y_target), atol=1e-4)
    assert np.all(p > psnr(rgb_to_y(pred), rgb_to_y(target)))  # the border damage is not counted
    # Float [0, 1] inputs give the same figures.
    p_float, s_float = sr_psnr_ssim(pred / 255.0, target / 255.0, scale=4, data_range=1.0)
    np.testing.assert_allclose(p_float, p, rtol=1e-10)
    np.testing.assert_allclose(s_float, s, atol=1e-10)


# --- Sharpness -----------------------------------------------------------------------------------

def _checkerboard(size: int = 16) -> np.ndarray:
    return ((np.indices((size, size)).sum(axis=0) % 2) * 255).astype(np.float64)[None, ..., None]


def test_sharpness_of_constant_is_zero_and_blur_lowers_it():
    constant = np.full((2, 16, 16, 3), 77, np.uint8)
    np.testing.assert_array_equal(sharpness(constant), 0.0)
    board = _checkerboard()
    blurred = gaussian_filter(board, sigma=(0, 1, 1, 0))
    np.testing.assert_allclose(sharpness(board), [np.sqrt(2.0)])  # |dx| = |dy| = 1 everywhere
    assert sharpness(blurred)[0] < 0.5 * sharpness(board)[0]


def test_sharpness_difference_hand_value_and_ordering():
    target = np.zeros((1, 3, 3, 1))
    target[0, 1, 1, 0] = 255.0  # one bright pixel
    pred = np.zeros_like(target)
    # On the 2x2 region where both differences exist, the target's |dy| + |dx| is
    # [[2, 1], [1, 0]] (in [0, 1] units) and the prediction's is 0, so the mean is 1.
    np.testing.assert_allclose(sharpness_difference(pred, target), [10 * np.log10(1 / 1.0)], atol=1e-12)
    assert np.all(np.isinf(sharpness_difference(target, target)))
    np.testing.assert_array_equal(sharpness_difference(target, target, max_db=100.0), 100.0)
    crisp = _smooth_images(13, (2, 32, 32, 3))
    slightly = gaussian_filter(crisp, sigma=(0, 0.7, 0.7, 0))
    very = gaussian_filter(crisp, sigma=(0, 2.0, 2.0, 0))
    assert np.all(sharpness_difference(slightly, crisp) > sharpness_difference(very, crisp))


# --- Shapes and errors ---------------------------------------------------------------------------

def test_every_metric_returns_one_value_per_image():
    target = _random_images(14, (5, 16, 16, 3))
    pred = _noisy(target, 15, 10)
    for metric in (psnr, ssim, l1, sharpness_difference):
        out = metric(pred, target)
        assert out.shape == (5,) and out.dtype == np.float64
    assert sharpness(pred).shape == (5,)
    assert psnr(pred[0], target[0]).shape == (1,)
    assert ssim_map(pred, target).shape == (5, 16, 16)
    assert [a.shape for a in sr_psnr_ssim(pred, target, scale=2)] == [(5,), (5,)]


def test_clear_errors_for_bad_inputs():
    target = _random_images(16, (2, 16, 16, 3))
    with pytest.raises(ValueError, match=r"differ in shape: \(2, 16, 16, 3\) vs \(2, 16, 12, 3\)"):
        psnr(target, target[:, :, :12])
    with pytest.raises(ValueError, match="pred is float64 but target is uint8"):
        ssim(target / 255.0, target)
    with pytest.raises(ValueError, match="64 channels"):
        psnr(np.zeros((3, 64, 64)), np.zeros((3, 64, 64)))  # NHW frames read as one HWC image
    with pytest.raises(ValueError, match="dtype bool"):
        psnr(target > 0, target > 0)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(target[:, :8, :8], target[:, :8, :8])
    with pytest.raises(ValueError, match="mask must be a bool"):
        psnr(target, target, mask=np.full((16, 16), 255, np.uint8))
    with pytest.raises(ValueError, match=r"mask has shape \(8, 8\)"):
        l1(target, target, mask=np.ones((8, 8), bool))
    empty = np.ones((2, 16, 16), bool)
    empty[1] = False
    with pytest.raises(ValueError, match=r"no pixel in image\(s\) \[1\]"):
        ssim(target, target, mask=empty)
    with pytest.raises(ValueError, match="data_range must be positive"):
        psnr(target, target, data_range=0)
    with pytest.raises(ValueError, match="RGB images"):
        rgb_to_y(target[..., :2])
