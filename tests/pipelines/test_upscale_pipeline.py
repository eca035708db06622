"""UpscalePipeline: tiles blend seamlessly, RGBA and grey inputs, bad inputs, save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from tests.superres_helpers import TINY_SR, write_sr_folder

import ganforge
from ganforge.errors import GanforgeError
from ganforge.pipelines import UpscalePipeline
from ganforge.tasks.superres.pipeline import blend_weights, tile_starts, uncomposite


class Nearest(torch.nn.Module):
    """A stand-in generator whose output is constant for constant input: nearest-neighbour upscaling."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale, mode="nearest") + self.dummy


def _stub(scale: int = 4, channels: int = 3) -> UpscalePipeline:
    return UpscalePipeline({"generator": Nearest(scale)}, {"scale": scale, "channels": channels, "resolution": 16})


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sr")
    data = write_sr_folder(root / "imgs")
    ganforge.train(**TINY_SR, data=str(data), kimg=0.008, out=str(root), name="run")
    return root / "run"


@pytest.mark.parametrize("size, tile, overlap", [(37, 16, 4), (50, 12, 5), (16, 16, 4), (100, 30, 0)])
def test_blend_weights_sum_to_one(size, tile, overlap):
    starts = tile_starts(size, tile, overlap)
    assert starts[0] == 0 and starts[-1] + tile >= size
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))
    w = blend_weights(size, size + 7, tile, overlap, 2)
    assert torch.allclose(w, torch.ones_like(w), atol=1e-5)


def test_constant_image_upscales_to_a_constant_image():
    out = _stub()(np.full((45, 61, 3), 137, np.uint8), tile=16, tile_overlap=5, output_type="np", watermark=False)[0]
    assert out.shape == (180, 244, 3) and (out == 137).all()


def test_tiled_equals_untiled_through_a_pointwise_network_and_nearly_through_a_trained_one(sr_run):
    img = np.random.default_rng(1).integers(0, 256, (29, 41, 3), dtype=np.uint8)
    stub = _stub()
    assert np.array_equal(stub(img, tile=0, output_type="np")[0], stub(img, tile=10, tile_overlap=3, output_type="np")[0])
    pipe = ganforge.load(sr_run)
    whole = pipe(img, tile=0, output_type="np")[0].astype(int)
    tiled = pipe(img, tile=16, tile_overlap=6, output_type="np")[0].astype(int)
    assert whole.shape == (58, 82, 3) and np.abs(whole - tiled).max() <= 8 and np.abs(whole - tiled).mean() < 0.5


def test_rgba_keeps_an_upscaled_alpha_and_its_own_colours():
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., :3] = (200, 40, 10)
    rgba[..., 3] = 255
    rgba[:, :6, 3] = 0  # left half transparent
    out = _stub()(rgba, tile=0, output_type="np", watermark=False)[0]
    assert out.shape == (40, 48, 4)
    assert (out[:, :20, 3] == 0).all() and (out[:, 28:, 3] == 255).all()  # alpha: bicubic, away from the edge
    assert np.abs(out[:, 28:, :3].astype(int) - (200, 40, 10)).max() == 0
    half = rgba.copy()
    half[..., 3] = 100  # half transparent everywhere: composited onto white, upscaled, white taken back out
    out = _stub()(half, tile=0, output_type="np", watermark=False)[0]
    assert (out[..., 3] == 100).all() and np.abs(out[..., :3].astype(int) - (200, 40, 10)).max() <= 2
    assert _stub()(Image.fromarray(rgba, "RGBA"))[0].mode == "RGBA"


def test_uncomposite_inverts_compositing_onto_white():
    colour, alpha = np.array([[[30, 90, 250]]], np.uint8), np.array([[[100]]], np.uint8)
    a = 100 / 255
    composited = np.round(colour * a + 255 * (1 - a)).astype(np.uint8)
    assert np.abs(uncomposite(composited, alpha).astype(int) - colour).max() <= 2


def test_grey_inputs_give_grey_outputs_on_a_colour_model(sr_run):
    grey = np.random.default_rng(0).integers(0, 256, (9, 11), dtype=np.uint8)
    out = ganforge.load(sr_run)(grey, output_type="np")[0]
    assert out.shape == (18, 22, 1)
    assert _stub(channels=1)(np.zeros((6, 6, 3), np.uint8), output_type="np")[0].shape == (24, 24, 3)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(GanforgeError, match="at least 2x2"):
        _stub()(np.zeros((1, 1, 3), np.uint8))  # smaller than the scale
    with pytest.raises(GanforgeError, match="larger than twice --tile-overlap"):
        _stub()(np.zeros((40, 40, 3), np.uint8), tile=8, tile_overlap=4)
    with pytest.raises(GanforgeError, match="output_type"):
        _stub()(np.zeros((4, 4, 3), np.uint8), output_type="jpg")


def test_save_load_round_trip_and_batch_matches_single(sr_run, tmp_path):
    pipe = ganforge.load(sr_run)
    assert isinstance(pipe, UpscalePipeline) and pipe.scale == 2
    images = np.random.default_rng(2).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    batch = pipe.upscale_batch(images)
    single = np.stack([pipe(im, output_type="np", watermark=False)[0] for im in images])
    assert np.array_equal(batch, single)
    again = UpscalePipeline.from_pretrained(pipe.save_pretrained(tmp_path / "export"))
    assert np.array_equal(again.upscale_batch(images), batch)
