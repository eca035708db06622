"""The streamed tile engine: equal to the old full-buffer blend, bands in order covering the output once, skipped
tiles never run, alpha bands equal to the whole resize, upscales equal to the old path (arrays and streamed PNGs),
and memory that grows by the uint8 output and a constant where the old blend needed ~28 bytes per output pixel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tests.pipelines.tiling_reference import full_buffer_blend, old_upscale_array

from ganforge.imaging import tensor_to_uint8, uint8_to_tensor
from ganforge.pipelines import UpscalePipeline
from ganforge.pipelines.tiling import axis_total, blend_weights, tiled_bands
from ganforge.tasks.superres.pipeline import upscale_alpha

ROOT = Path(__file__).resolve().parents[2]


def _net(scale: int, c_in: int = 3, c_out: int = 3) -> torch.nn.Module:
    """A seeded convolution (3x3 context, so tiles really differ at their edges) with pixel-shuffle upscaling."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(c_in, c_out * scale * scale, 3, padding=1), torch.nn.Tanh(),
                               torch.nn.PixelShuffle(scale)).eval()


def _stream(image: np.ndarray, fn, scale: int, tile: int, overlap: int, **kw) -> np.ndarray:
    """Collect the bands, checking they come top to bottom and cover every output row exactly once."""
    h, w = image.shape[:2]
    out, covered, next_row = None, np.zeros(h * scale, int), 0
    for top, band in tiled_bands(image, fn, scale, tile, overlap, **kw):
        assert top == next_row and band.dtype == np.uint8 and band.shape[1] == w * scale
        out = np.empty((h * scale, w * scale, band.shape[2]), np.uint8) if out is None else out
        out[top : top + len(band)] = band
        covered[top : top + len(band)] += 1
        next_row = top + len(band)
    assert (covered == 1).all()
    return out


@pytest.mark.parametrize("h, w, scale, tile, overlap, c", [
    (37, 53, 2, 16, 4, 3), (50, 12, 2, 12, 5, 3), (16, 16, 4, 16, 4, 3), (61, 40, 1, 20, 0, 1),
    (20, 130, 4, 17, 8, 3), (129, 40, 2, 128, 16, 1), (45, 45, 2, 0, 0, 3),
])
@torch.no_grad()
def test_streamed_blend_equals_the_full_buffer_blend(h, w, scale, tile, overlap, c):
    img = np.random.default_rng(h * w).integers(0, 256, (h, w, c), dtype=np.uint8)
    net = _net(scale, c, c)
    ref = tensor_to_uint8(full_buffer_blend(net, uint8_to_tensor(img[None]), scale, tile, overlap).clamp(-1, 1))[0]
    out = _stream(img, lambda x, box: net(x), scale, tile, overlap)
    assert out.shape == ref.shape and np.abs(out.astype(int) - ref).max() <= 1


def test_normaliser_is_the_outer_product_of_the_axis_totals():
    full = blend_weights(37, 44, 12, 3, 2)
    assert torch.allclose(full, axis_total(37, 12, 3, 2)[:, None] * axis_total(44, 12, 3, 2)[None, :], atol=1e-6)


@torch.no_grad()
def test_tiles_not_needed_are_never_run_and_the_rest_is_unchanged():
    img = np.random.default_rng(3).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    net, ran = _net(1), []

    def fn(x, box):
        ran.append(box)
        return net(x)

    everything = _stream(img, fn, 1, 24, 6)
    total = len(ran)
    ran.clear()
    left = _stream(img, fn, 1, 24, 6, needed=lambda box: box[2] < 30)  # only tiles starting in the left third
    assert 0 < len(ran) < total and all(box[2] < 30 for box in ran)
    # where every covering tile ran, the result is the full one; tiles reach at most 24 px from their left edge
    assert np.array_equal(left[:, :20], everything[:, :20])


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_alpha_bands_equal_the_whole_bicubic_resize(scale):
    alpha = Image.fromarray(np.random.default_rng(scale).integers(0, 256, (41, 27), dtype=np.uint8))
    whole = np.asarray(alpha.resize((27 * scale, 41 * scale), Image.Resampling.BICUBIC))[:, :, None]
    worst = 0
    for rows in (1, 7, 33, 100):
        for top in range(0, 41 * scale, rows):
            n = min(rows, 41 * scale - top)
            diff = upscale_alpha(alpha, scale, top, n).astype(int) - whole[top : top + n]
            worst = max(worst, int(np.abs(diff).max()))
    assert worst <= (0 if scale in (2, 4) else 1)  # exact for x2 and x4; x3's box coordinates round


@pytest.mark.parametrize("c", [1, 3, 4])
def test_upscale_matches_the_old_whole_image_path_in_every_mode(c, tmp_path):
    pipe = UpscalePipeline({"generator": _net(2)}, {"scale": 2, "channels": 3, "resolution": 16})
    img = np.random.default_rng(c).integers(0, 256, (45, 38, c), dtype=np.uint8)
    if c == 4:
        img[:, :19, 3] = np.random.default_rng(9).integers(0, 256, (45, 19), dtype=np.uint8)
    new, old = pipe.upscale_array(img, 16, 4), old_upscale_array(pipe, img, 16, 4)
    assert new.shape == old.shape == (90, 76, c) and np.abs(new.astype(int) - old).max() <= 1
    path = pipe.upscale_to_file(img, tmp_path / "big.png", 16, 4, watermark=False)
    back = np.asarray(Image.open(path))
    assert np.array_equal(back.reshape(new.shape), new) and os.listdir(tmp_path) == ["big.png"]
    pipe.upscale_to_file(img, tmp_path / "big.tif", 16, 4, watermark=False)  # other suffixes: the array and save_image
    assert np.array_equal(np.asarray(Image.open(tmp_path / "big.tif")).reshape(new.shape), new)


_PEAK = """
import json, sys
import numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(1)
from ganforge.pipelines import UpscalePipeline
from tests.pipelines.tiling_reference import old_upscale_array

class Nearest(torch.nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=4, mode="nearest")

def peak():  # this process's own high-water mark: ru_maxrss would start at the forking parent's peak (Linux)
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    return int(hwm.split()[1]) * 1024

pipe = UpscalePipeline({"generator": Nearest()}, {"scale": 4, "channels": 3, "resolution": 16})
img = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
pipe.upscale_array(img[:160, :160], 128, 16)  # warm-up: kernels and allocator pools
before = peak()
out = pipe.upscale_array(img, 128, 16)
new = peak() - before
del out
old = old_upscale_array(pipe, img, 128, 16)  # the peak only rises: this is the old path's growth (or more)
print(json.dumps({"new": new, "old": peak() - before, "output": old.nbytes}))
"""


def test_upscale_memory_grows_by_the_uint8_output_and_a_constant():
    """Peak RSS of a x4 upscale of 512 x 512 px (tile 128) in a fresh process: the old full-buffer path needs about
    28 bytes per output pixel (~145 MB here); the streamed one the 12.6 MB uint8 output plus a few tile-sized
    buffers. The bound sits between the two, far from both."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _PEAK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    bound = result["output"] + 32 * 2**20
    assert result["new"] < bound < result["old"], result
