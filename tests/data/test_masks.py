"""Inpainting masks: seeded determinism, area buckets, outpaint geometry, PNG files, stroke shape, speed."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.measure import label
from skimage.morphology import disk, erosion

from ganforge.data import masks as M
from ganforge.errors import ConfigError, DataError

KINDS = ("brush", "rect", "blob", "outpaint", "mixed")


def digest(masks: dict) -> str:
    return hashlib.sha256(b"".join(np.packbits(v).tobytes() for v in masks.values())).hexdigest()


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_masks_different_seed_different(kind: str) -> None:
    a = M.sample_masks(8, kind, (32, 48), 7)
    b = M.sample_masks(8, kind, (32, 48), np.random.default_rng(7))
    c = M.sample_masks(8, kind, (32, 48), 8)
    assert a.shape == (8, 32, 48) and a.dtype == bool
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fixed_test_masks_repeat_and_depend_on_seed() -> None:
    a = M.fixed_test_masks(32, 4)
    b = M.fixed_test_masks(32, 4, seed=0)
    c = M.fixed_test_masks(32, 4, seed=1)
    assert list(a) == list(M.BUCKETS)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_fixed_test_masks_smaller_set_is_a_prefix() -> None:
    small, big = M.fixed_test_masks(32, 3), M.fixed_test_masks(32, 6)
    assert all(np.array_equal(small[k], big[k][:3]) for k in small)


def test_fixed_test_masks_pinned_checksum() -> None:
    # If this fails the published evaluation masks changed (a numpy Generator stream change or
    # an edit to a generator): results computed before and after are not comparable.
    got = digest(M.fixed_test_masks((32, 32), 3, seed=0))
    assert got == "750ff09b4ce886d76a4c1957ab4cb553cc28d13386697270dd8842377fbae1d7"


# --- areas and buckets ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
def test_every_fixed_mask_lies_in_its_bucket(size: int) -> None:
    masks = M.fixed_test_masks(size, 10)
    for (lo, hi), batch in masks.items():
        assert batch.shape == (10, size, size) and batch.dtype == bool
        areas = M.mask_areas(batch)
        assert np.all((areas >= lo) & (areas < hi) & (areas > 0)), ((lo, hi), areas)
        assert all(M.bucket_of(a) == M.BUCKETS.index((lo, hi)) for a in areas)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [(32, 32), (64, 64), (40, 72)])
def test_masks_are_neither_empty_nor_full(kind: str, size: tuple[int, int]) -> None:
    areas = M.mask_areas(M.sample_masks(40, kind, size, 3))
    assert np.all(areas > 0) and np.all(areas < 1)


def test_mask_area_and_buckets_by_hand() -> None:
    m = np.zeros((10, 10), dtype=bool)
    m[:3, :5] = True
    assert M.mask_area(m) == 0.15
    assert M.mask_area(np.stack([m, np.zeros_like(m)])) == 0.075
    assert M.mask_areas(np.stack([m, ~m])).tolist() == [0.15, 0.85]
    assert [M.bucket_of(a) for a in (0.0, 0.05, 0.1, 0.3, 0.59, 0.6, 0.9)] == [None, 0, 1, 2, 3, None, None]


def test_unfillable_bucket_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"could not fill .*40%-60%.*larger mask size"):
        M.fixed_test_masks(32, 5, max_tries=10)


# --- outpainting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("borders", [(8, 0, 8, 0), (0, 5, 0, 0), (3, 1, 4, 9), (16, 16, 16, 16)])
def test_outpaint_geometry(borders: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = borders
    canvas, mask = M.outpaint_mask((20, 30), borders)
    assert canvas == (20 + top + bottom, 30 + left + right) == mask.shape
    assert not mask[top : top + 20, left : left + 30].any()  # the original image is kept
    mask[top : top + 20, left : left + 30] = True
    assert mask.all()  # and everything else is new border
    assert M.mask_area(M.outpaint_mask((20, 30), borders)[1]) == pytest.approx(
        1 - 600 / (canvas[0] * canvas[1])
    )


@pytest.mark.parametrize("bad", [(0, 0, 0, 0), (1, 2, 3), (-1, 0, 4, 0), (1.5, 0, 0, 0), "8,0,8,0"])
def test_outpaint_bad_borders(bad) -> None:
    with pytest.raises(ConfigError, match="outpaint borders"):
        M.outpaint_mask((20, 30), bad)


def test_random_outpaint_masks_are_bands_on_the_border() -> None:
    g = np.random.default_rng(0)
    for _ in range(50):
        m = M.random_outpaint_mask((40, 60), g)
        keep = np.argwhere(~m)
        (y0, x0), (y1, x1) = keep.min(0), keep.max(0)
        assert not m[y0 : y1 + 1, x0 : x1 + 1].any()  # the known part is one rectangle
        assert (~m).sum() == (y1 - y0 + 1) * (x1 - x0 + 1)
        assert m.any() and (y0, x0, y1, x1) != (0, 0, 39, 59)  # at least one side extends


# --- files -----------------------------------------------------------------------------------------


def test_png_round_trip(tmp_path: Path) -> None:
    m = M.sample_mask("brush", (24, 40), 1)
    path = M.save_mask(m, tmp_path / "sub" / "m.png")
    im = Image.open(path)
    assert im.mode == "L" and im.size == (40, 24)
    assert set(np.unique(np.asarray(im)).tolist()) == {0, 255}
    assert np.array_equal(M.load_mask(path, (24, 40)), m)
    assert np.array_equal(M.load_mask(path), m)


def test_png_grayscale_threshold_rgb_and_rgba(tmp_path: Path) -> None:
    grey = np.array([[0, 127, 128, 255]], dtype=np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    assert M.load_mask(tmp_path / "g.png").tolist() == [[False, False, True, True]]
    rgb = np.array([[[255, 255, 255], [255, 0, 0], [200, 200, 200], [0, 0, 0]]], dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(tmp_path / "c.png")
    assert M.load_mask(tmp_path / "c.png").tolist() == [[True, False, True, False]]  # red's luma is 76
    # white strokes on a transparent layer: transparent pixels keep, whatever colour they store
    rgba = np.array(
        [[[255, 255, 255, 255], [255, 255, 255, 0], [0, 0, 0, 0], [255, 255, 255, 200]]], np.uint8
    )
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert M.load_mask(tmp_path / "a.png").tolist() == [[True, False, False, True]]
    Image.fromarray(grey > 127).save(tmp_path / "b.png")  # 1-bit PNG
    assert M.load_mask(tmp_path / "b.png").tolist() == [[False, False, True, True]]
    Image.fromarray(np.array([[0, 30000, 40000, 65535]], dtype=np.uint16)).save(tmp_path / "w.png")
    assert M.load_mask(tmp_path / "w.png").tolist() == [[False, False, True, True]]  # 16-bit grey


def test_png_wrong_size_names_both_sizes(tmp_path: Path) -> None:
    path = M.save_mask(np.ones((24, 40), dtype=bool), tmp_path / "m.png")
    with pytest.raises(DataError, match=r"m\.png is 40x24 \(width x height\) but the image is 48x32"):
        M.load_mask(path, (32, 48))


def test_png_missing_or_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        M.load_mask(tmp_path / "nope.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read mask"):
        M.load_mask(tmp_path / "junk.png")


# --- shapes of the generators -----------------------------------------------------------------------


def test_brush_masks_are_thin_connected_strokes() -> None:
    g = np.random.default_rng(11)
    max_radius = M.BRUSH_WIDTH_256[1] * 64 / 256 / 2  # 5 px at 64 px
    survive, areas = [], []
    for _ in range(100):
        m = M.brush_mask(64, g)
        areas.append(M.mask_area(m))
        assert 1 <= label(m, connectivity=2).max() <= M.BRUSH_STROKES[1]  # at most one piece per stroke
        survive.append(erosion(m, disk(int(max_radius) + 1)).sum() / m.sum())
    assert max(areas) < 0.6 and 0.05 < np.mean(areas) < 0.35
    # a disc wider than the brush fits almost nowhere inside a stroke (it fits in most of a blob)
    assert np.mean(survive) < 0.2
    for seed in range(20):
        one = M.brush_mask(64, seed, strokes=(1, 1))
        assert label(one, connectivity=2).max() == 1


def test_brush_width_scales_with_image_size() -> None:
    small = np.mean(M.mask_areas(M.sample_masks(60, "brush", 32, 0)))
    large = np.mean(M.mask_areas(M.sample_masks(60, "brush", 128, 0)))
    assert abs(small - large) < 0.05  # the same protocol covers the same fraction at any size


def test_blob_is_one_object() -> None:
    g = np.random.default_rng(2)
    for _ in range(30):
        assert label(M.blob_mask(64, g), connectivity=2).max() == 1


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(ConfigError, match="mask kind 'stripes'"):
        M.sample_mask("stripes", 32, 0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="mask size"):
        M.sample_mask("rect", (2, 32), 0)
    with pytest.raises(ConfigError, match="rng"):
        M.sample_mask("rect", 32, -1)
    with pytest.raises(ConfigError, match="per_bucket"):
        M.fixed_test_masks(32, 0)


# --- speed -----------------------------------------------------------------------------------------


def test_fixed_test_masks_are_fast() -> None:
    t = time.perf_counter()
    M.fixed_test_masks(64, 25)  # 100 masks
    assert time.perf_counter() - t < 1.0
