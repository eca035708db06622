"""Tiled inpainting: images larger than a tile are filled tile by tile, only where the mask is, with known pixels
bit-exact; a pointwise network gives the whole-image result; files stream to PNG; images within a tile are unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from tests.gf_inpaint import inpaint_run  # noqa: F401  (session fixture)

import ganforge
from ganforge.errors import GanforgeError
from ganforge.pipelines import InpaintPipeline


class _Stub(torch.nn.Module):
    """A seeded stand-in for LaMa: (holed image, mask) [N, 4, H, W] -> [N, 3, H, W]; `kernel` 1 is pointwise."""

    stride = 2

    def __init__(self, kernel: int = 1) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(4, 3, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))


def _pipe(kernel: int = 1) -> InpaintPipeline:
    return InpaintPipeline({"generator": _Stub(kernel).eval()}, {"resolution": 16, "channels": 3})


def _case(h: int = 70, w: int = 90, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(c)
    img = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mask[5:12, 8:30] = True  # top left
    mask[50:66, 60:85] = True  # bottom right
    return img, mask


def test_pointwise_network_tiled_equals_whole_image():
    pipe, (img, mask) = _pipe(), _case()
    whole = pipe(img, mask=mask, tile=0, output_type="np", watermark=False)[0]
    tiled = pipe(img, mask=mask, tile=20, tile_overlap=5, output_type="np", watermark=False)[0]
    assert np.abs(whole.astype(int) - tiled).max() <= 1
    assert np.array_equal(tiled[~mask], img[~mask]) and (tiled[mask] != img[mask]).any()


def test_only_tiles_with_hole_pixels_run_and_known_pixels_stay_exact(monkeypatch):
    pipe, (img, mask) = _pipe(kernel=3), _case()
    calls = []
    predict = pipe.predict_tensor

    def spy(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        calls.append(float(m.sum()))
        return predict(x, m)

    monkeypatch.setattr(pipe, "predict_tensor", spy)
    out = pipe(img, mask=mask, tile=20, tile_overlap=5, output_type="np", watermark=False)[0]
    assert 0 < len(calls) < 5 * 6 and all(n > 0 for n in calls)  # a 70 x 90 image has 5 x 6 tiles of 20 px
    assert np.array_equal(out[~mask], img[~mask]) and (out[mask] != img[mask]).any()


@pytest.mark.parametrize("c", [1, 3, 4])
def test_modes_outpaint_and_streamed_png(c, tmp_path):
    pipe = _pipe(kernel=3)
    img, mask = _case(41, 57, c)
    if c == 4:
        img[..., 3] = np.random.default_rng(5).integers(0, 256, img.shape[:2], dtype=np.uint8)
    out = pipe(img, mask=mask, outpaint=(7, 0, 3, 9), tile=24, tile_overlap=6, output_type="np", watermark=False)[0]
    assert out.shape == (50, 67, c) and np.array_equal(out[:41, 7:64][~mask], img[~mask])
    if c == 4:
        assert np.array_equal(out[:41, 7:64, 3], img[..., 3]) and (out[41:, :, 3] == 255).all()
    path = tmp_path / "o.png"
    assert pipe.inpaint_to_file(img, path, mask=mask, outpaint=(7, 0, 3, 9), tile=24, tile_overlap=6,
                                watermark=False) == (50, 67)
    with Image.open(path) as im:
        assert np.array_equal(np.asarray(im).reshape(out.shape), out) and im.info["Software"] == "ganforge"
    assert pipe.inpaint_to_file(img, tmp_path / "o.tif", mask=mask, outpaint=(7, 0, 3, 9), tile=24,
                                tile_overlap=6, watermark=False) == (50, 67)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o.tif")).reshape(out.shape), out)


def test_images_within_a_tile_take_the_whole_image_path(monkeypatch):
    pipe, (img, mask) = _pipe(kernel=3), _case()
    shapes = []
    predict = pipe.predict_tensor
    monkeypatch.setattr(pipe, "predict_tensor", lambda x, m: shapes.append(x.shape) or predict(x, m))
    pipe(img, mask=mask, output_type="np")  # default tile 512 > 90
    assert shapes == [(1, 3, 70, 90)]
    with pytest.raises(GanforgeError, match="larger than twice --tile-overlap"):
        pipe(img, mask=mask, tile=20, tile_overlap=10)


def test_trained_lama_tiled_keeps_known_pixels_and_stays_close(inpaint_run, tmp_path):  # noqa: F811
    pipe = ganforge.load(inpaint_run["run"])
    img, mask = _case(45, 75)
    whole = pipe(img, mask=mask, tile=0, output_type="np", watermark=False)[0]
    tiled = pipe(img, mask=mask, tile=30, tile_overlap=6, output_type="np", watermark=False)[0]  # 30: padded to the stride per tile
    assert np.array_equal(tiled[~mask], img[~mask]) and (tiled[mask] != img[mask]).any()
    # the Fourier blocks see only their tile: fills differ a little (here ~0.8 grey levels on average, max 3)
    assert whole.shape == tiled.shape and np.abs(whole.astype(int) - tiled)[mask].mean() < 4
