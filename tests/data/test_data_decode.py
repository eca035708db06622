"""Every supported format and mode decodes to RGB uint8 with the right values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import save, solid
from PIL import Image

from ganforge.data import load_image
from ganforge.data.decode import BadImage, decode_rgb, to_rgb
from ganforge.errors import DataError


def rgb_of(path: Path) -> np.ndarray:
    im = load_image(path.parent, path.name)
    assert im.mode == "RGB"
    return np.asarray(im)


def test_png_rgba_composites_onto_white(tmp_path: Path) -> None:
    a = np.zeros((2, 3, 4), dtype=np.uint8)
    a[0, 0] = (255, 0, 0, 0)  # fully transparent red -> white
    a[0, 1] = (0, 0, 255, 255)  # opaque blue stays blue
    a[0, 2] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    out = rgb_of(save(Image.fromarray(a, "RGBA"), tmp_path / "a.png"))
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [0, 0, 255]
    assert abs(int(out[0, 2, 0]) - 127) <= 1


def test_png_la_composites_onto_white(tmp_path: Path) -> None:
    a = np.array([[[0, 0], [0, 255], [200, 255]]], dtype=np.uint8)  # [1, 3, (L, A)]
    out = rgb_of(save(Image.fromarray(a, "LA"), tmp_path / "la.png"))
    assert out[0].tolist() == [[255, 255, 255], [0, 0, 0], [200, 200, 200]]


def test_png_palette(tmp_path: Path) -> None:
    im = Image.new("P", (4, 1))
    im.putpalette([10, 20, 30, 200, 100, 50] + [0, 0, 0] * 254)
    im.putdata([0, 1, 1, 0])
    out = rgb_of(save(im, tmp_path / "p.png"))
    assert out[0].tolist() == [[10, 20, 30], [200, 100, 50], [200, 100, 50], [10, 20, 30]]


def test_png_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (2, 1))
    im.putpalette([10, 20, 30, 200, 100, 50] + [0, 0, 0] * 254)
    im.putdata([0, 1])
    out = rgb_of(save(im, tmp_path / "pt.png", transparency=0))
    assert out[0].tolist() == [[255, 255, 255], [200, 100, 50]]


def test_png_rgb_colour_key_transparency(tmp_path: Path) -> None:
    a = np.array([[[1, 2, 3], [9, 9, 9]]], dtype=np.uint8)
    out = rgb_of(save(Image.fromarray(a), tmp_path / "ck.png", transparency=(1, 2, 3)))
    assert out[0].tolist() == [[255, 255, 255], [9, 9, 9]]


def test_png_greyscale_and_one_bit(tmp_path: Path) -> None:
    out = rgb_of(save(Image.new("L", (2, 2), 100), tmp_path / "l.png"))
    assert (out == 100).all()
    one = Image.new("1", (2, 1))
    one.putdata([0, 1])
    out = rgb_of(save(one, tmp_path / "one.png"))
    assert out[0].tolist() == [[0, 0, 0], [255, 255, 255]]


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_is_scaled_not_clipped(tmp_path: Path, suffix: str) -> None:
    a = np.array([[0, 65535, 32896, 257]], dtype=np.uint16)
    im = Image.fromarray(a)
    assert im.mode == "I;16"
    out = rgb_of(save(im, tmp_path / f"g16{suffix}"))
    assert out[0, :, 0].tolist() == [0, 255, 128, 1]
    assert (out[..., 0] == out[..., 2]).all()


def test_16_bit_big_endian_tiff(tmp_path: Path) -> None:
    a = np.array([[0, 65535, 32896]], dtype=np.uint16)
    im = Image.frombytes("I;16B", (3, 1), a.astype(">u2").tobytes())
    out = rgb_of(save(im, tmp_path / "be.tiff"))
    assert out[0, :, 1].tolist() == [0, 255, 128]


def test_32_bit_integer_mode_i_is_treated_as_16_bit() -> None:
    im = Image.fromarray(np.array([[0, 65535, 32896]], dtype=np.int32), "I")
    assert np.asarray(to_rgb(im))[0, :, 0].tolist() == [0, 255, 128]


def test_jpeg_webp_bmp(tmp_path: Path) -> None:
    colour = (200, 30, 60)
    jpg = rgb_of(save(solid(colour), tmp_path / "x.JPG", quality=95))
    assert np.abs(jpg.astype(int) - colour).max() <= 3
    webp = rgb_of(save(solid(colour), tmp_path / "x.webp", lossless=True))
    assert (webp == colour).all()
    bmp = rgb_of(save(solid(colour), tmp_path / "x.bmp"))
    assert (bmp == colour).all()


def test_cmyk_jpeg_and_tiff(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (4, 4), (0, 0, 0, 0))  # no ink = white
    assert (rgb_of(save(cmyk, tmp_path / "c.tif")) == 255).all()
    cyan = Image.new("CMYK", (4, 4), (255, 0, 0, 0))
    out = rgb_of(save(cyan, tmp_path / "c.jpg", quality=95))
    assert out[0, 0, 0] < 10 and out[0, 0, 1] > 245 and out[0, 0, 2] > 245


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    frames = [solid((255, 0, 0)), solid((0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    out = rgb_of(path)
    assert (out == (255, 0, 0)).all()


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    im = solid((0, 128, 0), (8, 4))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    path = save(im, tmp_path / "rot.jpg", exif=exif.tobytes())
    assert rgb_of(path).shape == (8, 4, 3)


def test_decode_rejects_empty_and_text() -> None:
    with pytest.raises(BadImage) as e:
        decode_rgb(b"")
    assert e.value.reason == "zero-byte"
    with pytest.raises(BadImage) as e:
        decode_rgb(b"hello, this is not an image")
    assert e.value.reason == "not an image"


def test_decompression_bomb_guard_stays_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(solid((1, 2, 3), (64, 64)), tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 px: over the warning limit
    with pytest.raises(DataError, match="too large"):
        load_image(tmp_path, path.name)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000 // 4)  # over twice the limit: Pillow's own error
    with pytest.raises(DataError, match="too large"):
        load_image(tmp_path, path.name)


def test_too_large_is_skipped_during_prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    from ganforge.data import prepare_folder

    save(solid((1, 2, 3), (64, 64)), tmp_path / "src" / "big.png")
    save(solid((1, 2, 3), (8, 8)), tmp_path / "src" / "small.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # decoded in worker threads: the guard still holds
    with caplog.at_level("WARNING", logger="ganforge.data"):
        ds = prepare_folder(tmp_path / "src", None, 8)
    assert len(ds) == 1 and "1 too large" in caplog.text
