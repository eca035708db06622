"""TranslationPipeline: any size in, same size out; RGBA and grey inputs; resize; directions; exports; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.errors import GanforgeError
from ganforge.pipelines import TranslationPipeline


def _image(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, channels), dtype=np.uint8)


def test_any_size_comes_back_at_its_own_size(translation_runs):
    pipe = ganforge.load(translation_runs["pix2pix"])
    assert isinstance(pipe, TranslationPipeline) and pipe.directions == ["AtoB"]
    rgba = _image(13, 21, 4)
    rgba[:5, :, 3] = 0  # a transparent band
    gray = _image(7, 9, 1)[:, :, 0]
    outs = pipe([rgba, gray, _image(40, 17), Image.fromarray(_image(16, 16))], output_type="np")
    assert [o.shape for o in outs] == [(13, 21, 4), (7, 9, 3), (40, 17, 3), (16, 16, 3)]
    assert np.array_equal(outs[0][:, :, 3], rgba[:, :, 3])  # alpha passed through
    pil = pipe(rgba)
    assert pil[0].mode == "RGBA" and pil[0].size == (21, 13)
    resized = pipe([rgba, gray], resize=True, output_type="np")
    assert [o.shape for o in resized] == [(13, 21, 4), (7, 9, 3)]


def test_batch_matches_single_and_translate_batch(translation_runs):
    pipe = ganforge.load(translation_runs["pix2pix"])
    a, b = _image(16, 16, seed=1), _image(16, 16, seed=2)
    both = pipe([a, b], output_type="np", watermark=False)
    assert both.shape == (2, 16, 16, 3)
    assert np.array_equal(both[1], pipe(b, output_type="np", watermark=False)[0])
    batched = pipe.translate_batch(np.stack([a, b]), batch_size=1)
    assert np.array_equal(batched, both)  # the eval helper and __call__ agree at the training size
    again = pipe([a, b], output_type="pt")
    assert torch.equal(again, pipe([a, b], output_type="pt"))  # deterministic (eval mode, no dropout)


def test_export_round_trip(translation_runs, tmp_path):
    pipe = ganforge.load(translation_runs["cyclegan"])
    x = _image(12, 20)
    pipe.save_pretrained(tmp_path / "export")
    loaded = TranslationPipeline.from_pretrained(tmp_path / "export")
    for direction in ("AtoB", "BtoA"):
        assert np.array_equal(loaded(x, direction=direction, output_type="np"), pipe(x, direction=direction, output_type="np"))


def test_cyclegan_directions_use_their_generators(translation_runs):
    pipe = ganforge.load(translation_runs["cyclegan"])
    assert pipe.directions == ["AtoB", "BtoA"]
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        expect_ab = pipe.components["G_AB"](x).clamp(-1, 1)
        expect_ba = pipe.components["G_BA"](x).clamp(-1, 1)
    assert torch.equal(pipe.translate_tensor(x, "AtoB"), expect_ab)
    assert torch.equal(pipe.translate_tensor(x, "btoa"), expect_ba)
    assert not torch.equal(expect_ab, expect_ba)
    out = pipe(_image(10, 14, 4), direction="BtoA", output_type="np")
    assert out.shape == (1, 10, 14, 4)


def test_bad_inputs_are_clear_errors(translation_runs, tmp_path):
    pipe = ganforge.load(translation_runs["pix2pix"])
    with pytest.raises(GanforgeError, match="translates one way only"):
        pipe(_image(16, 16), direction="BtoA")
    with pytest.raises(GanforgeError, match="no such image file"):
        pipe(tmp_path / "missing.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(GanforgeError, match="cannot read image"):
        pipe(broken)
    with pytest.raises(GanforgeError, match="must be uint8"):
        pipe(np.full((8, 8, 3), 7.5, np.float32))
    with pytest.raises(GanforgeError, match=r"\[H, W\], \[H, W, 1\]"):
        pipe(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(GanforgeError, match="output_type must be one of"):
        pipe(_image(16, 16), output_type="jpeg")
    with pytest.raises(GanforgeError, match="no images to translate"):
        pipe([])
