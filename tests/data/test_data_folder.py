"""Folders and zips as datasets: scanning, labels, bad files (warning text and strict errors)."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import jpeg_bytes, noisy, png_bytes, save, solid

from ganforge.data import prepare_folder, scan_images
from ganforge.errors import DataError


def corrupt_png() -> bytes:
    """A real PNG signature and header with mangled compressed data."""
    data = bytearray(png_bytes(noisy(32)))
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0x55
    return bytes(data)


def bad_folder(root: Path) -> Path:
    """Two good images and one of each kind of bad file, plus files that are not images at all."""
    save(solid((255, 0, 0)), root / "a_good.png")
    save(solid((0, 255, 0)), root / "b_good.jpg")
    (root / "c_corrupt.png").write_bytes(corrupt_png())
    (root / "d_trunc.jpg").write_bytes(jpeg_bytes(noisy(64))[:800])
    (root / "e_trunc.png").write_bytes(png_bytes(noisy(64))[:3000])
    (root / "f_empty.png").write_bytes(b"")
    (root / "g_text.jpg").write_text("this is a text file with an image extension\n")
    (root / "notes.txt").write_text("ignored silently")
    (root / "meta.json").write_text("{}")
    return root


def test_bad_files_are_skipped_with_one_counted_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = bad_folder(tmp_path / "imgs")
    with caplog.at_level(logging.WARNING, logger="ganforge.data"):
        ds = prepare_folder(root, None, 8)
    assert len(ds) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"skipped 5 of 7 files in {root.resolve()}: 1 corrupt, 2 truncated, 1 zero-byte, 1 not an image "
        "(use --strict to make this an error)"
    ]
    assert ds.meta["skipped"] == {"corrupt": 1, "truncated": 2, "zero-byte": 1, "not an image": 1}
    assert ["c_corrupt.png", "corrupt"] in ds.meta["skipped_files"]


def test_random_bytes_with_png_extension_are_not_an_image(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "imgs"
    save(solid((1, 2, 3)), root / "ok.png")
    (root / "junk.png").write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with caplog.at_level(logging.WARNING, logger="ganforge.data"):
        prepare_folder(root, None, 8)
    assert "skipped 1 of 2 files" in caplog.text and "1 not an image" in caplog.text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("x_corrupt.png", corrupt_png, "corrupt"),
        ("x_trunc.jpg", lambda: jpeg_bytes(noisy(64))[:800], "truncated"),
        ("x_empty.png", lambda: b"", "zero-byte"),
        ("x_text.jpg", lambda: b"plain text\n", "not an image"),
    ],
)
def test_strict_names_the_bad_file_and_reason(tmp_path: Path, name: str, data, reason: str) -> None:
    root = tmp_path / "imgs"
    save(solid((1, 2, 3)), root / "a.png")
    (root / name).write_bytes(data())
    with pytest.raises(DataError) as e:
        prepare_folder(root, None, 8, strict=True)
    msg = str(e.value)
    assert name in msg and reason in msg and "--strict" in msg


def test_strict_reports_the_first_bad_file_in_name_order(tmp_path: Path) -> None:
    root = bad_folder(tmp_path / "imgs")
    with pytest.raises(DataError, match="c_corrupt.png"):
        prepare_folder(root, None, 8, strict=True)


def test_labels_from_first_level_subfolders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "pets"
    save(solid((255, 0, 0)), root / "dogs" / "d1.png")
    save(solid((255, 0, 0)), root / "dogs" / "deeper" / "d2.png")
    save(solid((0, 0, 255)), root / "cats" / "c1.png")
    save(solid((0, 255, 0)), root / "stray.png")
    save(solid((0, 255, 0)), root / ".hidden" / "h.png")
    save(solid((0, 255, 0)), root / "__MACOSX" / "m.png")
    save(solid((0, 255, 0)), root / "cats" / ".dot.png")
    scan = scan_images(root)
    assert scan.class_names == ["cats", "dogs"]
    assert scan.entries == [("cats/c1.png", 0), ("dogs/d1.png", 1), ("dogs/deeper/d2.png", 1)]
    assert scan.ignored_top_level == ["stray.png"]
    with caplog.at_level(logging.WARNING, logger="ganforge.data"):
        ds = prepare_folder(root, None, 4)
    assert "ignored 1 image(s) at the top level" in caplog.text
    assert ds.class_names == ["cats", "dogs"] and ds.labels.tolist() == [0, 1, 1]
    assert ds.images[0, 0, 0].tolist() == [0, 0, 255]


def test_unlabelled_without_two_class_folders(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    save(solid((1, 1, 1)), root / "a.png")
    save(solid((2, 2, 2)), root / "b.png")
    ds = prepare_folder(root, None, 4)
    assert ds.labels is None and ds.class_names == [] and ds.num_classes == 0
    one = tmp_path / "one"
    save(solid((1, 1, 1)), one / "top.png")
    save(solid((2, 2, 2)), one / "only" / "inner.png")
    scan = scan_images(one)
    assert scan.class_names == [] and [n for n, _ in scan.entries] == ["only/inner.png", "top.png"]


def test_wrapper_folder_is_looked_through(tmp_path: Path) -> None:
    root = tmp_path / "outer"
    save(solid((1, 1, 1)), root / "wrap" / "a" / "x.png")
    save(solid((2, 2, 2)), root / "wrap" / "b" / "y.png")
    scan = scan_images(root)
    assert scan.prefix == "wrap/" and scan.class_names == ["a", "b"]
    assert scan.entries == [("wrap/a/x.png", 0), ("wrap/b/y.png", 1)]


def test_zip_is_the_same_as_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    for i, (cls, colour) in enumerate([("cats", (0, 0, 255)), ("dogs", (255, 0, 0)), ("dogs", (200, 0, 0))]):
        save(solid(colour, (12, 10)), root / cls / f"{i}.png")
    (root / "dogs" / "bad.png").write_bytes(b"")
    zpath = tmp_path / "pets.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, f"pets/{p.relative_to(root).as_posix()}")
        zf.writestr("__MACOSX/pets/._0.png", b"junk")
        zf.writestr("pets/readme.txt", "hello")
    a = prepare_folder(root, None, 8)
    b = prepare_folder(zpath, None, 8)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert a.class_names == b.class_names == ["cats", "dogs"]
    assert a.meta["skipped"] == b.meta["skipped"] == {"zero-byte": 1}
    assert b.meta["source_kind"] == "zip"


def test_empty_folder_error_names_the_path(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=str(root)) as e:
        prepare_folder(root, None, 8)
    assert "no images found" in str(e.value)


def test_all_bad_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "allbad"
    root.mkdir()
    (root / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match="no usable images") as e:
        prepare_folder(root, None, 8)
    assert str(root) in str(e.value) and "1 zero-byte" in str(e.value)


def test_missing_path_and_non_zip_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        scan_images(tmp_path / "nope")
    other = tmp_path / "file.txt"
    other.write_text("x")
    with pytest.raises(DataError, match="neither a folder nor a zip"):
        scan_images(other)


def test_strict_scan_rejects_zero_byte(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    save(solid((1, 2, 3)), root / "a.png")
    (root / "b.png").write_bytes(b"")
    assert len(scan_images(root).entries) == 2
    with pytest.raises(DataError, match="zero-byte"):
        scan_images(root, strict=True)
