"""Captions for text-to-image: emoji metadata plus emojilib keywords, folders with caption files, splits, errors."""

from __future__ import annotations

import io
import json
import logging
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.data import captions as cap
from ganforge.data.builtin import npm
from ganforge.errors import DataError

PERSON = {"name": "WOMAN RAISING HAND", "short_names": ["raising_hand_woman", "woman-raising-hand"],
          "category": "People & Body", "subcategory": "person-gesture", "unified": "1F64B-1F3FD-200D-2640-FE0F",
          "skin_tone": "medium skin tone"}
KEYWORDS = {cap.emoji_key("\U0001F64B\u200d\u2640\ufe0f"): ["woman_raising_hand", "female", "girl", "woman", ":)"]}


def test_emoji_captions_name_the_tone_and_add_short_names_subcategory_and_keywords() -> None:
    captions = cap.emoji_captions(PERSON, KEYWORDS)
    assert captions[0] == "woman raising hand: medium skin tone"
    assert "a woman raising hand emoji with medium skin tone" in captions
    assert "raising hand woman: medium skin tone" in captions  # short names, underscores and dashes as spaces
    assert "person gesture: woman raising hand with medium skin tone" in captions
    assert "people and body: woman raising hand with medium skin tone" in captions
    assert "woman raising hand: medium skin tone (female, girl)" in captions  # the name's own words and ":)" dropped
    assert all("medium skin tone" in c for c in captions) and len(set(captions)) == len(captions)
    plain = cap.emoji_captions({"name": "APPLE", "unified": "1F34E"}, {})
    assert plain == ["apple", "an apple emoji"]


def make_emojilib(path: Path) -> Path:
    table = json.dumps({"\U0001F64B\u200d\u2640\ufe0f": ["woman_raising_hand", "female"]}).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(cap.EMOJILIB_FILE)
        info.size = len(table)
        tar.addfile(info, io.BytesIO(table))
    return path


def test_emojilib_is_read_from_a_pinned_tarball_and_cached(tmp_path: Path, monkeypatch) -> None:
    tgz = make_emojilib(tmp_path / "emojilib-4.0.3.tgz")
    monkeypatch.setitem(npm.PINNED_SHA256, cap.EMOJILIB, npm.sha256_file(tgz))
    table = cap.emojilib_keywords(from_path=tgz)
    assert table == {cap.emoji_key("\U0001F64B\u200d\u2640"): ["woman_raising_hand", "female"]}
    tgz.unlink()
    assert cap.emojilib_keywords() == table  # from the cache, no fetch
    bad = tmp_path / "other" / "emojilib-4.0.3.tgz"
    bad.parent.mkdir()
    bad.write_bytes(b"not it")
    with pytest.raises(DataError, match="sha256"):
        cap.emojilib_keywords(from_path=bad)


def write_captioned_folder(root: Path, size: int = 16) -> Path:
    (root / "sub").mkdir(parents=True)
    for i, name in enumerate(["a.png", "sub/b.png", "c.png", "d.png", "e.png"]):
        Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(root / name)
    (root / "a.txt").write_text("a dark square\n\nthe darkest one\n")
    (root / "d.txt").write_text("a light square\n")
    (root / "e.txt").write_text("the lightest square\n")
    (root / "captions.jsonl").write_text(json.dumps({"file": "sub/b.png", "captions": ["a grey square"]}) + "\n\n")
    return root  # c.png has no caption


def test_a_folder_with_caption_files_and_a_jsonl(tmp_path: Path, caplog) -> None:
    root = write_captioned_folder(tmp_path / "shapes")
    with caplog.at_level(logging.WARNING, logger="ganforge.data"):
        everything = cap.resolve_captioned(str(root), 16, split="all")
    assert "1 of 5 images" in caplog.text
    assert everything.captions == [["a dark square", "the darkest one"], ["a light square"], ["the lightest square"],
                                   ["a grey square"]]  # the dataset's (name) order: a, d, e, sub/b
    assert everything.images.shape == (4, 16, 16, 3) and everything.images[0].max() == 0
    texts, owners = everything.flat()
    assert texts[:2] == ["a dark square", "the darkest one"] and owners.tolist() == [0, 0, 1, 2, 3]
    train, test = (cap.resolve_captioned(str(root), 16, split=s) for s in ("train", "test"))
    assert len(train) + len(test) == 4 and len(test) == 1
    assert not {tuple(c) for c in train.captions} & {tuple(c) for c in test.captions}


def test_bad_caption_input_is_one_line(tmp_path: Path) -> None:
    root = write_captioned_folder(tmp_path / "shapes")
    (root / "captions.jsonl").write_text('{"name": "b.png"}\n')
    with pytest.raises(DataError, match="line 1") as info:
        cap.resolve_captioned(str(root), 16)
    assert "\n" not in str(info.value)
    bare = tmp_path / "bare"
    bare.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(bare / "x.png")
    with pytest.raises(DataError, match="no captions found"):
        cap.resolve_captioned(str(bare), 8)
    with pytest.raises(DataError, match="has no captions"):
        cap.resolve_captioned("digits", 8)
    with pytest.raises(DataError, match="split"):
        cap.resolve_captioned(str(root), 16, split="val")
