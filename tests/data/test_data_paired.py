"""Paired translation data: A/B folders, side-by-side images, label maps, derived pairs, emoji, splits."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import make_many_emoji_tarballs, save, solid
from PIL import Image

from ganforge.data import derive, resolve_dataset, resolve_paired
from ganforge.data.builtin import get_builtin, npm
from ganforge.data.paired import PairedData, load_pairs
from ganforge.data.split import split_indices
from ganforge.errors import DataError


@pytest.fixture
def emoji_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The emoji built-in fetched from small tarballs with the real layout (12 emoji + 6 skin tones)."""
    tgzs = make_many_emoji_tarballs(tmp_path / "tarballs")
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")


def ab_folder(root: Path, n: int = 10, ext_b: str = ".png") -> Path:
    """A/i.png red = 12 i, B/i<ext_b> green = 12 i: pairs are recognisable by their values."""
    for i in range(n):
        save(solid((12 * i, 0, 0), (12, 12)), root / "A" / f"p{i:02d}.png")
        save(solid((0, 12 * i, 0), (12, 12)), root / "B" / f"p{i:02d}{ext_b}")
    return root


def test_ab_folders_pair_by_name(tmp_path: Path) -> None:
    root = ab_folder(tmp_path / "ab", ext_b=".bmp")  # B's extension differs: names pair by stem
    full = resolve_paired(root, 8, split="all")
    assert isinstance(full, PairedData) and len(full) == 10 and full.split == "all"
    assert full.names == [f"p{i:02d}" for i in range(10)]
    assert full.a.shape == (10, 8, 8, 3) and full.b.shape == (10, 8, 8, 3) and full.a.dtype == np.uint8
    assert full.a_channels == full.b_channels == 3 and full.resolution == 8 and full.num_labels is None
    assert full.a[:, 4, 4, 0].tolist() == full.b[:, 4, 4, 1].tolist() == [12 * i for i in range(10)]
    assert full.meta["kind"] == "ab" and full.meta["source"] == str(root.resolve())


def test_mismatched_names_are_listed(tmp_path: Path) -> None:
    root = ab_folder(tmp_path / "ab", n=3)
    save(solid((1, 2, 3)), root / "A" / "only_in_a.png")
    save(solid((1, 2, 3)), root / "B" / "only_in_b.png")
    save(solid((1, 2, 3)), root / "B" / "also_b.png")
    with pytest.raises(DataError) as e:
        resolve_paired(root, 8)
    msg = str(e.value)
    assert "1 only in A/ (only_in_a)" in msg and "2 only in B/ (also_b, only_in_b)" in msg and "rename" in msg
    many = ab_folder(tmp_path / "many", n=2)
    for i in range(8):
        save(solid((1, 2, 3)), many / "A" / f"lonely{i}.png")
    with pytest.raises(
        DataError, match=r"8 only in A/ \(lonely0, .*lonely4, \.\.\.\) and 0 only in B/ \(none\)"
    ):
        resolve_paired(many, 8)


def test_side_by_side_split_at_the_midpoint(tmp_path: Path) -> None:
    root = tmp_path / "facades"
    for i in range(4):
        im = Image.new("RGB", (32, 16), (200, 10 * i, 0))
        im.paste((0, 10 * i, 200), (16, 0, 32, 16))  # right half: B
        save(im, root / f"{i}.png")
    full = resolve_paired(root, 8, split="all")
    assert full.meta["kind"] == "side-by-side" and full.names == ["0", "1", "2", "3"]
    assert (full.a[..., 0] == 200).all() and (full.a[..., 2] == 0).all()
    assert (full.b[..., 0] == 0).all() and (full.b[..., 2] == 200).all()
    assert full.b[:, 0, 0, 1].tolist() == [0, 10, 20, 30]

    odd = tmp_path / "odd"
    save(Image.new("RGB", (32, 16)), odd / "a.png")
    save(Image.new("RGB", (33, 16)), odd / "b.png")
    with pytest.raises(DataError, match=r"'b.png' .* is 33 px wide; an odd width"):
        resolve_paired(odd, 8)
    plain = tmp_path / "plain"
    save(solid((1, 2, 3), (16, 16)), plain / "x.png")
    save(solid((1, 2, 3), (16, 16)), plain / "y.png")
    with pytest.raises(DataError, match=r"not side-by-side A\|B pairs \(x.png is 16x16"):
        resolve_paired(plain, 8)


def test_direction_swaps_a_and_b(tmp_path: Path) -> None:
    root = ab_folder(tmp_path / "ab")
    ab = resolve_paired(root, 8, split="train")
    ba = resolve_paired(root, 8, split="train", direction="btoa")
    assert ba.direction == "BtoA" and ab.direction == "AtoB" and ba.names == ab.names
    assert np.array_equal(ba.a, ab.b) and np.array_equal(ba.b, ab.a)
    with pytest.raises(DataError, match="'sideways' is not AtoB or BtoA"):
        resolve_paired(root, 8, direction="sideways")


def test_held_out_split_is_disjoint_stable_and_never_trained_on(tmp_path: Path) -> None:
    root = ab_folder(tmp_path / "ab", n=20)
    train, test = resolve_paired(root, 8, split="train"), resolve_paired(root, 8, split="test")
    assert len(test) == 2 and len(train) == 18 and train.split == "train" and test.split == "test"
    assert not set(train.names) & set(test.names)
    assert sorted(train.names + test.names) == [f"p{i:02d}" for i in range(20)]
    # no test pixels in training either (every pair here has its own value)
    assert not set(train.a[:, 0, 0, 0].tolist()) & set(test.a[:, 0, 0, 0].tolist())
    again = resolve_paired(root, 8, split="test", direction="BtoA")
    assert again.names == test.names and np.array_equal(again.b, test.a)  # same split in either direction
    other = resolve_paired(root, 8, split="test", split_seed=1)
    assert len(other) == 2 and other.names != test.names and other.meta["split_seed"] == 1
    tr, te = split_indices(3)
    assert len(te) == 1 and len(tr) == 2  # at least one held out
    with pytest.raises(DataError, match="needs at least 2"):
        split_indices(1, what="tiny")
    with pytest.raises(DataError, match="'val' is not one of train, test, all"):
        resolve_paired(root, 8, split="val")


def test_zip_with_a_wrapper_folder_and_lowercase_sides(tmp_path: Path) -> None:
    src = ab_folder(tmp_path / "src", n=3)
    zpath = tmp_path / "pairs.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(src.rglob("*.png")):
            rel = f.relative_to(src).as_posix()
            zf.write(f, "wrap/" + rel.replace("A/", "a/").replace("B/", "b/"))
    full = resolve_paired(zpath, 8, split="all")
    assert full.names == ["p00", "p01", "p02"] and full.b[:, 0, 0, 1].tolist() == [0, 12, 24]


def test_bad_files_skip_their_pair_or_fail_under_strict(tmp_path: Path, caplog) -> None:
    root = ab_folder(tmp_path / "ab", n=4)
    (root / "B" / "p02.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with caplog.at_level(logging.WARNING, logger="ganforge.data"):
        full = resolve_paired(root, 8, split="all")
    assert full.names == ["p00", "p01", "p03"] and "skipped 1 of 4 pairs" in caplog.text
    assert [name for name, _ in full.meta["skipped_files"]] == ["B/p02.png"]
    with pytest.raises(DataError, match="bad image 'B/p02.png'"):
        resolve_paired(root, 8, strict=True)


def circles_folder(root: Path, n: int = 4, size: int = 32) -> Path:
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        img = np.full((size, size, 3), 255, dtype=np.uint8)
        img[(yy - 16) ** 2 + (xx - 16) ** 2 < (8 + i) ** 2] = (40 * i, 60, 150)
        save(Image.fromarray(img), root / f"c{i}.png")
    return root


def test_edges_are_thin_dark_lines_on_white(tmp_path: Path) -> None:
    root = circles_folder(tmp_path / "circles")
    pairs = resolve_paired(f"edges:{root}", 32, split="all")
    assert pairs.a.shape == (4, 32, 32, 1) and pairs.b.shape == (4, 32, 32, 3)
    assert pairs.meta["kind"] == "edges" and pairs.a_channels == 1
    assert np.array_equal(pairs.b, resolve_dataset(root, 32).images)  # B is the image itself
    for edges, r in zip(pairs.a[..., 0], (8, 9, 10, 11)):
        dark = edges < 64
        assert (edges > 200).mean() > 0.75 and 0.03 < dark.mean() < 0.25  # mostly white, some lines
        assert edges[16, 16] > 200 and edges[0, 0] > 200  # inside and outside the disc stay white
        assert (
            dark[16, 16 - r : 16 - r + 3].any() and dark[16, 16 + r - 3 : 16 + r].any()
        )  # a ring at the rim
        ys, xs = np.nonzero(dark)
        dist = np.hypot(ys - 16, xs - 16)
        assert (abs(dist - r) < 3.5).all()  # every line pixel lies on the ring


def test_gray_pairs_for_colourisation(tmp_path: Path) -> None:
    root = circles_folder(tmp_path / "circles", n=3)
    pairs = resolve_paired(f"grey:{root}", 16, split="all")
    assert (
        pairs.meta["kind"] == "gray" and pairs.a.shape == (3, 16, 16, 1) and pairs.b.shape == (3, 16, 16, 3)
    )
    want = np.stack([np.asarray(Image.fromarray(b).convert("L")) for b in pairs.b])
    assert np.abs(pairs.a[..., 0].astype(int) - want).max() <= 1
    ba = resolve_paired(f"gray:{root}", 16, split="test", direction="BtoA")
    assert ba.a_channels == 3 and ba.b_channels == 1


def test_derived_pairs_are_computed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = circles_folder(tmp_path / "circles")
    calls: list[int] = []
    real = derive.DERIVATIONS["edges"]

    def counting(images: np.ndarray) -> np.ndarray:
        calls.append(len(images))
        return real(images)

    monkeypatch.setitem(derive.DERIVATIONS, "edges", counting)
    first = resolve_paired(f"edges:{root}", 16, split="all")
    second = resolve_paired(f"edges:{root}", 16, split="test")
    assert (
        calls == [4]
        and len(second) == 1
        and second.a[0].tolist() == first.a[first.names.index(second.names[0])].tolist()
    )
    assert np.array_equal(resolve_paired(f"edges:{root}", 16, split="all").a, first.a) and calls == [4]
    assert Path(first.meta["cache"]).is_dir() and (Path(first.meta["cache"]) / "pairs.json").is_file()
    resolve_paired(f"edges:{root}", 8)  # another resolution is another cache entry
    assert calls == [4, 4]
    save(solid((0, 0, 0)), root / "new.png")  # the source changed: derived again
    assert len(resolve_paired(f"edges:{root}", 16, split="all")) == 5 and calls == [4, 4, 5]


def test_folder_pairs_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ganforge.data.paired as paired

    root = ab_folder(tmp_path / "ab")
    calls: list[int] = []
    real = paired._decode_pairs

    def counting(root, jobs, *args):
        calls.append(len(jobs))
        return real(root, jobs, *args)

    monkeypatch.setattr(paired, "_decode_pairs", counting)
    a = load_pairs(root, 8)
    b = load_pairs(root, 8)
    assert calls == [10] and np.array_equal(a.a, b.a) and a.names == b.names


def label_folder(root: Path, n: int = 4) -> Path:
    for i in range(n):
        ids = np.zeros((16, 16), dtype=np.uint8)
        ids[:8, 8:] = 1
        ids[8:, :8] = 2
        ids[8:, 8:] = 3 + (i == 0)  # one map uses id 4, so there are 5 classes
        if i == 1:  # a palette PNG: the indices are the ids
            im = Image.fromarray(ids, "P")
            im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0] + [0] * 240 * 3)
        else:
            im = Image.fromarray(ids, "L")
        save(im, root / "labels" / f"m{i}.png")
        photo = np.stack([ids * 50, ids * 20, 255 - ids * 50], axis=-1).astype(np.uint8)
        save(Image.fromarray(photo), root / "images" / f"m{i}.jpg", quality=95)
    return root


def test_label_maps_are_read_as_integer_ids(tmp_path: Path) -> None:
    root = label_folder(tmp_path / "scenes")
    pairs = resolve_paired(f"labels:{root}", 8, split="all")
    assert (
        pairs.meta["kind"] == "labels" and pairs.num_labels == 5 and pairs.names == ["m0", "m1", "m2", "m3"]
    )
    assert pairs.a.shape == (4, 8, 8, 1) and pairs.a.dtype == np.uint8 and pairs.b.shape == (4, 8, 8, 3)
    assert set(np.unique(pairs.a).tolist()) == {0, 1, 2, 3, 4}  # nearest resize: never a blended id
    assert (
        pairs.a[1, :4, :4, 0].max() == 0
        and (pairs.a[1, 4:, 4:, 0] == 3).all()
        and (pairs.a[0, 4:, 4:] == 4).all()
    )
    assert (pairs.a[:, :4, 4:] == 1).all() and (pairs.a[:, 4:, :4] == 2).all()
    assert resolve_paired(f"labels:{root}", 8, split="test").num_labels == 5
    with pytest.raises(DataError, match="only labels -> images"):
        resolve_paired(f"labels:{root}", 8, direction="BtoA")
    with pytest.raises(DataError, match="write labels:"):
        resolve_paired(root, 8)


def test_label_map_errors(tmp_path: Path) -> None:
    root = label_folder(tmp_path / "rgb")
    save(solid((1, 2, 3)), root / "labels" / "m2.png")  # a colour-coded map replaces an integer one
    with pytest.raises(DataError, match="'labels/m2.png' .* has mode RGB; label maps must be single-channel"):
        resolve_paired(f"labels:{root}", 8)
    sizes = label_folder(tmp_path / "sizes")
    save(solid((1, 2, 3), (20, 16)), sizes / "images" / "m1.jpg")
    with pytest.raises(DataError, match="'labels/m1.png' is 16x16 but its image 'images/m1.jpg' is 20x16"):
        resolve_paired(f"labels:{sizes}", 8)
    with pytest.raises(DataError, match="needs two subfolders, images/ and labels/"):
        resolve_paired(f"labels:{ab_folder(tmp_path / 'ab')}", 8)


def test_emoji_pairs_are_aligned(emoji_cached: None) -> None:
    full = resolve_paired("emoji", 32, split="all")
    google, twitter = resolve_dataset("emoji:google", 32), resolve_dataset("emoji:twitter", 32)
    assert len(full) == len(google) == len(twitter) == 18
    assert (
        full.names
        == [Path(it["file"]).stem for it in google.items]
        == [Path(it["file"]).stem for it in twitter.items]
    )
    assert (
        "1f400-1f3fb" in full.names and full.meta["a"] == "emoji:google" and full.meta["b"] == "emoji:twitter"
    )
    assert np.array_equal(full.a, google.images) and np.array_equal(full.b, twitter.images)
    assert (full.a[:, 16, 16, 2] == 100).all() and (full.b[:, 16, 16, 2] == 200).all()  # google -> twitter
    assert np.array_equal(full.a[:, 16, 16, 0], full.b[:, 16, 16, 0])  # the same emoji at every index
    test = resolve_paired("emoji", 32, split="test")
    back = resolve_paired("emoji", 32, split="test", direction="BtoA")
    assert len(test) == 2 and back.names == test.names and np.array_equal(back.a, test.b)
    with pytest.raises(DataError, match="paired emoji always pairs google -> twitter"):
        resolve_paired("emoji:twitter", 32)
    edges = resolve_paired("edges:emoji:twitter", 32, split="all")
    assert edges.names == full.names and np.array_equal(edges.b, twitter.images) and edges.a_channels == 1


def test_unpaired_sources_are_refused_as_pairs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="built-in 'mnist' has no pairs; derive them with edges:mnist"):
        resolve_paired("mnist", 32)
    with pytest.raises(DataError, match="neither a paired built-in"):
        resolve_paired(str(tmp_path / "missing"), 32)
    with pytest.raises(DataError, match="unknown built-in|neither a built-in"):
        resolve_paired("edges:cifar", 32)
