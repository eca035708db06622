"""Degradations for super-resolution: sizes, determinism by seed, Pillow bicubic, crops, the held-out split."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganforge.data.degrade import (
    bicubic_downscale,
    degrade,
    gaussian_kernel,
    pair_rng,
    realistic_degrade,
    training_pair,
)
from ganforge.data.superres import source_resolution, superres_split
from ganforge.errors import DataError


def _image(h=32, w=24, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def test_bicubic_is_pillows_bicubic_on_uint8():
    img = _image()
    low = bicubic_downscale(img, 4)
    assert low.shape == (8, 6, 3) and low.dtype == np.uint8
    assert np.array_equal(low, np.asarray(Image.fromarray(img).resize((6, 8), Image.Resampling.BICUBIC)))
    assert bicubic_downscale(_image(c=1), 2).shape == (16, 12, 1)


@pytest.mark.parametrize("scale", [2, 4])
def test_realistic_chain_is_a_pure_function_of_the_seed(scale):
    img = _image(64, 48)
    a = realistic_degrade(img, scale, pair_rng(1, 7, 3))
    b = realistic_degrade(img, scale, pair_rng(1, 7, 3))
    assert a.shape == (64 // scale, 48 // scale, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    others = [realistic_degrade(img, scale, pair_rng(1, 7, p)) for p in range(4, 8)]
    assert any(not np.array_equal(a, o) for o in others)
    assert realistic_degrade(_image(16, 16, 1), scale, pair_rng(0, 0, 0)).shape == (16 // scale, 16 // scale, 1)


def test_anisotropic_kernel_is_normalised_and_turned():
    k = gaussian_kernel(11, 3.0, 0.5, 0.0)
    assert k.shape == (11, 11) and np.isclose(k.sum(), 1.0)
    assert k[5, 0] > k[0, 5]  # wide along x, narrow along y
    assert np.allclose(gaussian_kernel(11, 3.0, 0.5, np.pi / 2), k.T, atol=1e-12)


def test_training_pairs_crop_and_degrade_by_seed():
    src = _image(32, 32)
    hr, lr = training_pair(src, 16, 4, "realistic", pair_rng(0, 3, 1))
    hr2, lr2 = training_pair(src, 16, 4, "realistic", pair_rng(0, 3, 1))
    assert hr.shape == (16, 16, 3) and lr.shape == (4, 4, 3)
    assert np.array_equal(hr, hr2) and np.array_equal(lr, lr2)
    hr, lr = training_pair(src, 16, 2, "bicubic", pair_rng(0, 3, 2))
    assert np.array_equal(lr, bicubic_downscale(hr, 2))


def test_bad_sizes_are_clear_errors():
    with pytest.raises(DataError, match="cannot be shrunk by 4"):
        degrade(_image(10, 12), 4, "bicubic")
    with pytest.raises(DataError, match="cannot be shrunk by 4"):
        degrade(_image(2, 2), 4, "bicubic")  # smaller than the scale
    with pytest.raises(DataError, match="bicubic or realistic"):
        degrade(_image(8, 8), 2, "sinc")


def test_sources_are_whole_sprites_or_double_size_for_crops(tmp_path):
    assert source_resolution("emoji", 64) == 64 and source_resolution("digits", 16) == 16
    assert source_resolution("photos", 64) == 128 and source_resolution(str(tmp_path), 64) == 128


def test_split_by_group_holds_out_whole_groups():
    groups = np.repeat(np.arange(6), 5)
    train, test = superres_split(30, groups, "train", "x"), superres_split(30, groups, "test", "x")
    assert len(test) == 5 and len(set(groups[test])) == 1 and not set(groups[test]) & set(groups[train])
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(30))
    assert len(superres_split(30, None, "test", "x")) == 3
