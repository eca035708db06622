"""Prepared datasets: writing, loading back, cropping, and resolve_dataset's cache."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import save, solid
from PIL import Image

import ganforge.data.resolve as resolve_mod
from ganforge.data import (
    ImageDataset,
    folder_fingerprint,
    is_prepared,
    load_prepared,
    prepare_folder,
    resolve_dataset,
    save_prepared,
)
from ganforge.errors import DataError
from ganforge.paths import prepared_dir


def labelled_folder(root: Path) -> Path:
    save(solid((255, 0, 0), (20, 12)), root / "red" / "r1.png")
    save(solid((250, 0, 0), (12, 20)), root / "red" / "r2.jpg", quality=95)
    save(solid((0, 0, 255), (16, 16)), root / "blue" / "b1.webp", lossless=True)
    return root


def test_prepare_writes_and_loads_back_identical(tmp_path: Path) -> None:
    src = labelled_folder(tmp_path / "colours")
    out = tmp_path / "prepared"
    calls: list[tuple[int, int]] = []
    ds = prepare_folder(src, out, 8, progress=lambda done, total: calls.append((done, total)))
    for name in ("images.npy", "labels.npy", "dataset.json", "preview.png"):
        assert (out / name).is_file(), name
    assert is_prepared(out) and not is_prepared(src)
    assert calls[-1] == (3, 3)
    back = load_prepared(out)
    assert np.array_equal(back.images, ds.images) and np.array_equal(back.labels, ds.labels)
    assert back.images.dtype == np.uint8 and back.images.shape == (3, 8, 8, 3)
    assert back.class_names == ["blue", "red"] and back.num_classes == 2 and len(back) == 3
    assert back.resolution == 8 and back.channels == 3 and back.path == out
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["count"] == 3 and meta["resolution"] == 8 and meta["channels"] == 3
    assert meta["license"] == "as supplied by the user" and meta["source"] == str(src.resolve())
    assert meta["fingerprint"] == folder_fingerprint(src) and meta["class_names"] == ["blue", "red"]
    assert not list(tmp_path.glob(".prepared.*")), "no temp folders left behind"
    mm = load_prepared(out, mmap=True)
    assert isinstance(mm.images, np.memmap) and np.array_equal(mm.images, ds.images)


def test_centre_crop_of_non_square_images(tmp_path: Path) -> None:
    wide = np.zeros((10, 30, 3), dtype=np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:20] = (0, 255, 0)
    wide[:, 20:] = (0, 0, 255)
    save(Image.fromarray(wide), tmp_path / "src" / "wide.png")
    save(Image.fromarray(np.ascontiguousarray(wide.transpose(1, 0, 2))), tmp_path / "src" / "tall.png")
    ds = prepare_folder(tmp_path / "src", None, 10)
    for img in ds.images:  # the centred 10x10 square is the green third
        assert (img == (0, 255, 0)).all()


def test_resize_keeps_an_exact_size_image(tmp_path: Path) -> None:
    a = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    save(Image.fromarray(a), tmp_path / "src" / "x.png")
    assert np.array_equal(prepare_folder(tmp_path / "src", None, 16).images[0], a)


@pytest.mark.parametrize("bad", [3, 1025, 0, -8])
def test_resolution_range(tmp_path: Path, bad: int) -> None:
    save(solid((1, 2, 3)), tmp_path / "src" / "x.png")
    with pytest.raises(DataError, match="4 to 1024"):
        prepare_folder(tmp_path / "src", None, bad)


def test_save_prepared_overwrites_a_prepared_dir_but_not_other_folders(tmp_path: Path) -> None:
    imgs = np.zeros((2, 4, 4, 1), dtype=np.uint8)
    out = tmp_path / "ds"
    save_prepared(ImageDataset(imgs, None, [], {"name": "a"}), out)
    save_prepared(ImageDataset(imgs + 7, np.array([0, 1]), ["x", "y"], {"name": "b"}), out)
    back = load_prepared(out)
    assert back.channels == 1 and (back.images == 7).all() and back.labels.tolist() == [0, 1]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(DataError, match="not a prepared dataset"):
        save_prepared(ImageDataset(imgs, None, [], {}), mine)
    assert (mine / "thesis.txt").read_text() == "precious"


def test_load_prepared_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_prepared(tmp_path / "missing")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "dataset.json").write_text("{}")
    with pytest.raises(DataError, match="missing images.npy"):
        load_prepared(tmp_path / "half")
    out = save_prepared(ImageDataset(np.zeros((2, 4, 4, 3), np.uint8), None, [], {}), tmp_path / "ds")
    (out / "images.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match="corrupt"):
        load_prepared(out)


def test_resolve_caches_a_raw_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = labelled_folder(tmp_path / "colours")
    calls = []
    real = resolve_mod.prepare_folder

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(resolve_mod, "prepare_folder", counting)
    first = resolve_dataset(str(src), 8)
    second = resolve_dataset(str(src), 8)
    assert len(calls) == 1
    assert np.array_equal(first.images, second.images) and second.class_names == ["blue", "red"]
    cached = second.path
    assert (
        cached.parent == prepared_dir() and cached.name.startswith("colours-") and cached.name.endswith("-8")
    )
    resolve_dataset(str(src), 16)  # another resolution: its own preparation
    assert len(calls) == 2
    save(solid((0, 0, 250)), src / "blue" / "b2.png")  # content changed: prepared again
    third = resolve_dataset(str(src), 8)
    assert len(calls) == 3 and len(third) == 4 and third.path != cached


def test_resolve_strict_fails_on_a_cached_preparation_with_skips(tmp_path: Path) -> None:
    src = tmp_path / "imgs"
    save(solid((1, 2, 3)), src / "a.png")
    (src / "b.png").write_bytes(b"")
    assert len(resolve_dataset(str(src), 8)) == 1
    with pytest.raises(DataError, match="b.png"):
        resolve_dataset(str(src), 8, strict=True)


def test_resolve_a_prepared_dir_at_another_resolution(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "prep"
    prepare_folder(labelled_folder(tmp_path / "colours"), out, 16)
    assert resolve_dataset(str(out), 16).resolution == 16
    with caplog.at_level(logging.WARNING, logger="ganforge.data"):
        ds = resolve_dataset(str(out), 8)
    assert ds.images.shape == (3, 8, 8, 3) and ds.labels.tolist() == load_prepared(out).labels.tolist()
    assert "resizing it to 8x8 in memory" in caplog.text


def test_resolve_unknown_name_lists_builtins() -> None:
    with pytest.raises(DataError) as e:
        resolve_dataset("no-such-dataset", 32)
    for name in ("mnist", "emoji", "emoji-twitter", "photos", "digits"):
        assert name in str(e.value)


def test_fingerprint_tracks_content(tmp_path: Path) -> None:
    src = labelled_folder(tmp_path / "colours")
    fp = folder_fingerprint(src)
    assert fp == folder_fingerprint(src) and len(fp) == 64
    target = src / "red" / "r1.png"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert folder_fingerprint(src) != fp


def test_processes_racing_for_the_same_cache_all_succeed(tmp_path: Path) -> None:
    """DDP ranks resolve the same data at once: one builds each cache entry, the others reuse it."""
    import subprocess
    import sys

    src = labelled_folder(tmp_path / "colours")
    code = (
        "from ganforge.data import resolve_dataset\n"
        f"a = resolve_dataset('digits', 16); b = resolve_dataset({str(src)!r}, 8)\n"
        "print(len(a), len(b), a.path.name)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1][-2000:] for o in outs]
    assert {o[0].strip() for o in outs} == {"1797 3 digits-16"}
    leftovers = [p.name for p in prepared_dir().iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_an_output_inside_the_source_is_not_read_back(tmp_path: Path) -> None:
    src = labelled_folder(tmp_path / "colours")
    first = prepare_folder(src, src / "prepared", 8)
    second = prepare_folder(src, src / "prepared", 8)
    assert len(second) == len(first) == 3 and second.class_names == ["blue", "red"]
