"""The held-out split: unchanged per item, by group for emoji (with skin tones) and photos (by photo)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import make_many_emoji_tarballs

from ganforge.data import resolve_dataset, resolve_paired
from ganforge.data.builtin import get_builtin, npm, photos
from ganforge.data.split import emoji_group, group_keys, resolve_split_images, split_indices
from ganforge.data.superres import resolve_superres, superres_split
from ganforge.errors import DataError


@pytest.fixture
def emoji_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The emoji built-in from small tarballs: 40 emoji, the first 12 with two skin-tone variants (64 images)."""
    tgzs = make_many_emoji_tarballs(tmp_path / "tarballs", bases=40, toned=12)
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")


def base(stem: str) -> str:
    """The emoji a file stem draws, skin tone aside (independent of the code under test)."""
    return re.sub(r"-1f3f[b-f]", "", stem)


def assert_no_group_on_both_sides(train: list[str], test: list[str]) -> None:
    assert test and train and not set(train) & set(test)
    assert not {base(s) for s in train} & {base(s) for s in test}


def test_ungrouped_split_is_unchanged() -> None:
    # computed with the per-item split before groups existed: ungrouped data keep exactly this split
    expected = {3: [2], 10: [4], 25: [4, 19], 40: [4, 11, 24, 27]}
    for n, test in expected.items():
        tr, te = split_indices(n)
        assert te.tolist() == test and sorted(tr.tolist() + te.tolist()) == list(range(n))
    assert split_indices(40, seed=7)[1].tolist() == [0, 4, 20, 28]
    assert superres_split(30, None, "test", "x").tolist() == [2, 11, 26]
    # the superres photo split (one photo of six) is the one it held out before the shared split
    assert superres_split(30, np.repeat(np.arange(6), 5), "test", "x").tolist() == [15, 16, 17, 18, 19]


def test_grouped_split_holds_out_whole_groups_stably() -> None:
    groups = [f"g{i // 3}" if i < 30 else f"s{i}" for i in range(100)]  # ten triples and 70 singletons
    tr, te = split_indices(100, groups=groups)
    assert sorted(tr.tolist() + te.tolist()) == list(range(100))
    assert not {groups[i] for i in tr} & {groups[i] for i in te}
    assert 10 <= len(te) <= 12  # about 10% of the items, overshooting by less than one group
    again = split_indices(100, groups=np.array(groups))
    assert [x.tolist() for x in again] == [tr.tolist(), te.tolist()]  # stable across calls
    other = split_indices(100, seed=1, groups=groups)
    assert other[1].tolist() != te.tolist()
    tr, te = split_indices(4, groups=["a", "a", "a", "b"])  # at least one group held out, one kept
    assert len(te) and len(tr)
    with pytest.raises(DataError, match="all one group"):
        split_indices(5, groups=["a"] * 5)
    assert emoji_group("1f44b-1f3fb.png") == emoji_group({"file": "1f44b-1f3ff.png"}) == "1f44b"
    assert emoji_group({"file": "1f44b-1f3fb.png", "name": "WAVING HAND SIGN"}) == "WAVING HAND SIGN"


def test_emoji_pairs_keep_skin_tones_on_one_side(emoji_cached: None) -> None:
    google = resolve_dataset("emoji", 16)
    stems = [Path(it["file"]).stem for it in google.items]
    assert len(stems) == 64 and any("-1f3fb" in s for s in stems)
    # the per-item split puts toned siblings on both sides here: the test below would catch it
    tr, te = split_indices(64)
    assert {base(stems[i]) for i in tr} & {base(stems[i]) for i in te}
    for data in ("emoji", "edges:emoji", "gray:emoji:twitter"):
        train, test = resolve_paired(data, 16, split="train"), resolve_paired(data, 16, split="test")
        assert_no_group_on_both_sides(train.names, test.names)
        assert sorted(train.names + test.names) == sorted(stems)
        assert train.meta["split_by"] == "emoji" and 4 <= len(test) <= 10
        back = resolve_paired(data, 16, split="test", direction="BtoA")
        assert back.names == test.names  # stable across calls and directions
    assert resolve_paired("emoji", 16, split="test").names == resolve_paired("edges:emoji", 16, split="test").names


def test_inpaint_and_superres_splits_keep_skin_tones_on_one_side(emoji_cached: None) -> None:
    ds = resolve_dataset("emoji", 16)
    index = {x.tobytes(): Path(it["file"]).stem for x, it in zip(ds.images, ds.items)}
    assert len(index) == len(ds)  # every synthetic emoji has its own pixels
    _, train = resolve_split_images("emoji", 16, split="train")
    _, test = resolve_split_images("emoji", 16, split="test")
    assert len(train) + len(test) == len(ds)
    assert_no_group_on_both_sides([index[x.tobytes()] for x in train], [index[x.tobytes()] for x in test])
    _, again = resolve_split_images("emoji", 16, split="test")
    assert np.array_equal(again, test)
    sr_train, sr_test = resolve_superres("emoji", 16, split="train"), resolve_superres("emoji", 16, split="test")
    assert sr_test.meta["split_by"] == "emoji" and not sr_test.crops
    assert_no_group_on_both_sides(
        [index[x.tobytes()] for x in sr_train.images], [index[x.tobytes()] for x in sr_test.images]
    )


def test_photos_crops_are_split_by_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "TOTAL_CROPS", 60)
    ds = resolve_dataset("photos", 16)
    keys = group_keys(ds, "photos")
    assert keys is not None and set(keys) == set(ds.class_names)
    photo_of = {x.tobytes(): ds.class_names[label] for x, label in zip(ds.images, ds.labels)}
    _, train = resolve_split_images("photos", 16, split="train")
    _, test = resolve_split_images("photos", 16, split="test")
    assert len(train) + len(test) == len(ds)
    seen_train = {photo_of[x.tobytes()] for x in train}
    seen_test = {photo_of[x.tobytes()] for x in test}
    assert len(seen_test) == 1 and not seen_train & seen_test  # one whole photo held out
    assert group_keys(ds, "mnist") is None and group_keys(ds, Path("photos")) is None
