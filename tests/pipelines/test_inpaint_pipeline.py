"""InpaintPipeline and `ganforge inpaint`: known pixels bit-exact, outpainting geometry, any size, RGBA and grey,
mask-size errors, empty and all-hole masks, export round trip."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image
from tests.gf_inpaint import inpaint_run  # noqa: F401  (session fixture)

import ganforge
from ganforge.cli.main import main
from ganforge.data.masks import save_mask
from ganforge.errors import GanforgeError
from ganforge.pipelines import InpaintPipeline


@pytest.fixture
def pipe(inpaint_run) -> InpaintPipeline:  # noqa: F811
    return ganforge.load(inpaint_run["run"])


def _image(h=37, w=45, c=3, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def _hole(h=37, w=45) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[5:20, 10:30] = True
    return m


def test_known_pixels_come_back_bit_exact_at_any_size(pipe):
    assert isinstance(pipe, InpaintPipeline) and pipe.resolution == 16
    for h, w in ((16, 16), (37, 45), (70, 33)):
        img, m = _image(h, w), _hole(h, w)
        out = pipe(img, mask=m, output_type="np", watermark=False)
        assert out.shape == (1, h, w, 3) and out.dtype == np.uint8
        assert np.array_equal(out[0][~m], img[~m])
        assert (out[0][m] != img[m]).any()  # the hole was filled by the model, not copied


def test_rgba_and_grey_keep_their_mode_and_known_pixels(pipe):
    img, m = _image(c=4), _hole()
    out = pipe(img, mask=m, output_type="np", watermark=False)[0]
    assert out.shape == img.shape and np.array_equal(out[~m], img[~m])
    assert np.array_equal(out[..., 3], img[..., 3])  # alpha kept everywhere
    grey = _image(c=1)[..., 0]
    out = pipe(Image.fromarray(grey), mask=m, output_type="np", watermark=False)[0]
    assert out.shape == (37, 45, 1) and np.array_equal(out[..., 0][~m], grey[~m])
    assert pipe(Image.fromarray(grey), mask=m)[0].mode == "L"


def test_outpainting_geometry(pipe):
    img = _image()
    out = pipe(img, outpaint=(3, 4, 5, 6), output_type="np", watermark=False)[0]
    assert out.shape == (37 + 4 + 6, 45 + 3 + 5, 3)
    assert np.array_equal(out[4 : 4 + 37, 3 : 3 + 45], img)
    rgba = pipe(_image(c=4), outpaint="0,8,0,0", output_type="np")[0]
    assert rgba.shape == (45, 45, 4) and (rgba[:8, :, 3] == 255).all()
    both = pipe(img, mask=_hole(), outpaint=(2, 0, 0, 0), output_type="np", watermark=False)[0]  # holes and border
    inner, m = both[:, 2:], _hole()
    assert np.array_equal(inner[~m], img[~m]) and (inner[m] != img[m]).any()
    with pytest.raises(GanforgeError, match="four non-negative"):
        pipe(img, outpaint=(1, 2, 3))
    with pytest.raises(GanforgeError, match="all 0"):
        pipe(img, outpaint=(0, 0, 0, 0))


def test_mask_of_another_size_is_a_clear_error(pipe, tmp_path):
    save_mask(np.ones((10, 12), bool), tmp_path / "m.png")
    with pytest.raises(GanforgeError, match=r"mask .* is 12x10 .* image is 45x37"):
        pipe(_image(), mask=tmp_path / "m.png")
    with pytest.raises(GanforgeError, match="12x10"):
        pipe(_image(), mask=np.ones((10, 12), bool))
    with pytest.raises(GanforgeError, match="output_type must be one of"):
        pipe(_image(), mask=np.ones((37, 45), bool), output_type="tensor")


def test_empty_mask_returns_the_input(pipe, caplog):
    img = _image()
    with caplog.at_level(logging.WARNING, logger="ganforge"):
        out = pipe(img, mask=np.zeros((37, 45), bool), output_type="np", watermark=False)[0]
    assert np.array_equal(out, img) and "mask is empty" in caplog.text


def test_all_hole_mask_is_the_models_guess(pipe, caplog):
    img, full = _image(), np.ones((37, 45), bool)
    with caplog.at_level(logging.WARNING, logger="ganforge"):
        a = pipe(img, mask=full, output_type="np")[0]
    b = pipe(_image(seed=1), mask=full, output_type="np")[0]
    assert a.shape == img.shape and "covers the whole image" in caplog.text
    assert np.array_equal(a, b)  # nothing known: the input's pixels cannot matter


def test_batch_and_export_round_trip(pipe, tmp_path):
    imgs, m = [_image(seed=i) for i in range(3)], _hole()
    batch = pipe(imgs, mask=m, output_type="np")
    singles = np.stack([pipe(x, mask=m, output_type="np")[0] for x in imgs])
    assert np.array_equal(batch, singles)
    again = InpaintPipeline.from_pretrained(pipe.save_pretrained(tmp_path / "export"))
    assert np.array_equal(again(imgs, mask=m, output_type="np"), batch)
    pt = pipe(imgs[0], mask=m, output_type="pt")
    assert pt.shape == (1, 3, 37, 45) and float(pt.min()) >= -1


def test_cli_inpaint_and_outpaint(inpaint_run, tmp_path, capsys):  # noqa: F811
    img, m = _image(), _hole()
    Image.fromarray(img).save(tmp_path / "in.png")
    save_mask(m, tmp_path / "mask.png")
    run = str(inpaint_run["run"])
    assert main(["inpaint", run, str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "out.png"), "--no-watermark"]) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == img.shape and np.array_equal(out[~m], img[~m])
    assert main(["inpaint", run, str(tmp_path / "in.png"), "--outpaint", "4,0,4,2", "--out", str(tmp_path / "o")]) == 0
    assert Image.open(tmp_path / "o.png").size == (45 + 8, 37 + 2)
    save_mask(np.ones((8, 8), bool), tmp_path / "small.png")
    capsys.readouterr()
    assert main(["inpaint", run, str(tmp_path / "in.png"), "--mask", str(tmp_path / "small.png"),
                 "--out", str(tmp_path / "x.png")]) != 0
    assert "is 8x8" in capsys.readouterr().err
    assert main(["inpaint", run, str(tmp_path / "in.png"), "--outpaint", "a,b", "--out", str(tmp_path / "x.png")]) != 0
    assert "L,T,R,B" in capsys.readouterr().err
    assert main(["inpaint", run, str(tmp_path / "in.png"), "--out", str(tmp_path / "x.png")]) != 0
    assert "--mask" in capsys.readouterr().err
