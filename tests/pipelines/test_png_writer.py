"""PngStreamWriter: grey, grey + alpha, RGB and RGBA read back identical with Pillow, marked as ours; too few or
malformed rows leave nothing behind and the target untouched."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.imaging import PngStreamWriter


@pytest.mark.parametrize("c", [1, 2, 3, 4])
def test_png_writer_round_trips_and_leaves_nothing_on_failure(c, tmp_path):
    img = np.random.default_rng(c).integers(0, 256, (53, 29, c), dtype=np.uint8)
    with PngStreamWriter(tmp_path / "a.png", 29, 53, c) as png:
        for top in range(0, 53, 10):
            png.write_rows(img[top : top + 10] if c > 1 else img[top : top + 10, :, 0])
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[c] and im.info["Software"] == "ganforge"
        assert np.array_equal(np.asarray(im).reshape(img.shape), img)
    (tmp_path / "keep.png").write_bytes(b"the user's")
    with pytest.raises(GanforgeError, match="only 10 of 53 rows"):
        with PngStreamWriter(tmp_path / "keep.png", 29, 53, c) as png:
            png.write_rows(img[:10])
    with pytest.raises(GanforgeError, match=r"uint8 \[rows, 29"):
        with PngStreamWriter(tmp_path / "keep.png", 29, 53, c) as png:
            png.write_rows(img[:10, :28])
    assert sorted(os.listdir(tmp_path)) == ["a.png", "keep.png"] and (tmp_path / "keep.png").read_bytes() == b"the user's"


def test_png_writer_compresses_large_bands_in_steps(tmp_path, monkeypatch):
    img = np.random.default_rng(0).integers(0, 256, (300, 2000, 3), dtype=np.uint8)  # 1.8 MB: four steps of 512 KiB
    monkeypatch.setattr(PngStreamWriter, "STEP_BYTES", 1 << 19)
    with PngStreamWriter(tmp_path / "b.png", 2000, 300, 3) as png:
        png.write_rows(img)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), img)
