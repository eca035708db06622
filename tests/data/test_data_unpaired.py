"""Unpaired translation data: two sources, A/B folders, emoji in disjoint halves, held-out splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gf_data_helpers import make_many_emoji_tarballs, save, solid

from ganforge.data import resolve_dataset, resolve_unpaired
from ganforge.data.builtin import get_builtin, npm
from ganforge.data.unpaired import UnpairedData, halves, held_out_counterparts, load_domains
from ganforge.errors import DataError


@pytest.fixture
def emoji_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The emoji built-in fetched from small tarballs (24 emoji, 6 with two skin-tone variants)."""
    tgzs = make_many_emoji_tarballs(tmp_path / "tarballs", bases=24, toned=6)
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")


def domain(root: Path, n: int, channel: int) -> Path:
    """n images whose `channel` holds 10 i, so every image is recognisable."""
    for i in range(n):
        colour = [0, 0, 0]
        colour[channel] = 10 * i
        save(solid(tuple(colour), (12, 12)), root / f"{i:02d}.png")
    return root


def test_two_folders_of_different_sizes(tmp_path: Path) -> None:
    a, b = domain(tmp_path / "horses", 10, 0), domain(tmp_path / "zebras", 15, 2)
    full = resolve_unpaired(a, 8, split="all", data_b=b)
    assert isinstance(full, UnpairedData) and full.a.shape == (10, 8, 8, 3) and full.b.shape == (15, 8, 8, 3)
    assert full.meta["a"] == "horses" and full.meta["b"] == "zebras" and full.resolution == 8
    train, test = resolve_unpaired(a, 8, data_b=b), resolve_unpaired(a, 8, split="test", data_b=b)
    assert (len(train.a), len(test.a), len(train.b), len(test.b)) == (9, 1, 13, 2)
    for side in ("a", "b"):  # disjoint, complete, and stable
        tr, te = getattr(train, f"names_{side}"), getattr(test, f"names_{side}")
        assert not set(tr) & set(te) and sorted(tr + te) == getattr(full, f"names_{side}")
        assert not set(getattr(train, side)[:, 0, 0].sum(1).tolist()) & set(
            getattr(test, side)[:, 0, 0].sum(1).tolist()
        )
    again = resolve_unpaired(a, 8, split="test", data_b=b)
    assert again.names_a == test.names_a and again.names_b == test.names_b
    back = resolve_unpaired(a, 8, split="test", direction="BtoA", data_b=b)
    assert back.direction == "BtoA" and np.array_equal(back.a, test.b) and back.names_b == test.names_a
    assert np.array_equal(full.a, resolve_dataset(a, 8).images)  # decoded and cached by resolve_dataset


def test_one_folder_with_domain_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "h2z"
    domain(root / "A", 4, 0)
    domain(root / "B", 6, 1)
    full = load_domains(root, 8)
    assert (len(full.a), len(full.b)) == (4, 6) and (full.b[:, 0, 0, 1] == np.arange(6) * 10).all()
    cyc = tmp_path / "cyclegan"
    domain(cyc / "trainA", 3, 0)
    domain(cyc / "trainB", 5, 1)
    domain(cyc / "testA", 2, 2)
    full = load_domains(cyc, 8)
    assert (len(full.a), len(full.b)) == (3, 5)
    with pytest.raises(DataError, match="unpaired data needs two"):
        load_domains(root / "A", 8)


def test_emoji_halves_never_show_a_pair(emoji_cached: None) -> None:
    google, twitter = resolve_dataset("emoji", 16), resolve_dataset("emoji:twitter", 16)
    group = {
        it["file"].split(".")[0]: it["name"] for it in google.items
    }  # skin tones share their emoji's name
    full = load_domains("emoji", 16)
    assert len(full.a) + len(full.b) == len(google) == 36 and abs(len(full.a) - len(full.b)) <= 3
    assert not {group[n] for n in full.names_a} & {group[n] for n in full.names_b}  # no emoji in both domains
    assert (full.a[:, 8, 8, 2] == 100).all() and (full.b[:, 8, 8, 2] == 200).all()  # google vs twitter
    index = {Path(it["file"]).stem: i for i, it in enumerate(google.items)}
    assert np.array_equal(full.a, google.images[[index[n] for n in full.names_a]])
    assert np.array_equal(full.b, twitter.images[[index[n] for n in full.names_b]])
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    for split in ("train", "test"):
        for direction in ("AtoB", "BtoA"):
            part = resolve_unpaired("emoji", 16, split=split, direction=direction)
            x, y = (part.names_a, part.names_b) if direction == "AtoB" else (part.names_b, part.names_a)
            seen_a |= set(x)
            seen_b |= set(y)
            assert not {group[n] for n in x} & {group[n] for n in y}
    assert seen_a == set(full.names_a) and seen_b == set(full.names_b)
    assert load_domains("emoji", 16).names_a == full.names_a  # fixed halves
    test = resolve_unpaired("emoji", 16, split="test")
    train = resolve_unpaired("emoji", 16, split="train")
    assert (
        test.names_a
        and not set(test.names_a) & set(train.names_a)
        and not set(test.names_b) & set(train.names_b)
    )


def test_emoji_test_split_holds_out_whole_groups_in_each_domain(emoji_cached: None) -> None:
    """A held-out emoji's skin-tone siblings are never training images of the same domain."""
    group = {Path(it["file"]).stem: it["name"] for it in resolve_dataset("emoji", 16).items}
    for direction in ("AtoB", "BtoA"):
        train = resolve_unpaired("emoji", 16, split="train", direction=direction)
        test = resolve_unpaired("emoji", 16, split="test", direction=direction)
        for tr, te in ((train.names_a, test.names_a), (train.names_b, test.names_b)):
            assert te and not {group[n] for n in tr} & {group[n] for n in te}


def test_halves_keep_groups_whole() -> None:
    groups = ["x", "x", "x", "y", "z", "w", "w", "v"]
    a, b = halves(groups)
    assert sorted(a.tolist() + b.tolist()) == list(range(8))
    assert not {groups[i] for i in a} & {groups[i] for i in b}
    assert [x.tolist() for x in halves(groups)] == [a.tolist(), b.tolist()]


def test_unpaired_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="same emoji in two styles, so every pair would be seen"):
        load_domains("emoji:google", 16, data_b="emoji:twitter")
    with pytest.raises(DataError, match="is one domain; give the second with --data-b"):
        load_domains("mnist", 16)
    a = domain(tmp_path / "a", 1, 0)
    with pytest.raises(DataError, match="domain A of a-b has 1 item"):
        resolve_unpaired(a, 8, data_b=domain(tmp_path / "b", 3, 1))


def test_held_out_counterparts_are_the_other_style_of_each_input_and_never_in_training(emoji_cached: None) -> None:
    google, twitter = resolve_dataset("emoji", 16), resolve_dataset("emoji:twitter", 16)
    index = {Path(it["file"]).stem: i for i, it in enumerate(google.items)}
    full = load_domains("emoji", 16)
    for direction, inputs, other in (("AtoB", "names_a", twitter), ("BtoA", "names_b", google)):
        test = resolve_unpaired("emoji", 16, split="test", direction=direction)
        names = test.names_a  # the inputs of this direction
        assert names == getattr(resolve_unpaired("emoji", 16, split="test"), inputs)
        counter = held_out_counterparts("emoji", 16, names, direction)
        assert np.array_equal(counter, other.images[[index[n] for n in names]])
        # the other domain (train and test alike) never holds these emoji in the other style
        assert not set(names) & set(full.names_b if direction == "AtoB" else full.names_a)
    assert held_out_counterparts("emoji", 16, [], "AtoB").shape[0] == 0


def test_held_out_counterparts_only_for_two_style_builtins(emoji_cached: None, tmp_path: Path) -> None:
    assert held_out_counterparts("emoji", 16, ["x"], "AtoB", data_b="emoji:twitter") is None
    assert held_out_counterparts("emoji:twitter", 16, ["x"], "AtoB") is None
    assert held_out_counterparts(str(tmp_path), 16, ["x"], "AtoB") is None
    with pytest.raises(DataError, match="no emoji counterpart for 1 test images"):
        held_out_counterparts("emoji", 16, ["not-an-emoji"], "AtoB")
