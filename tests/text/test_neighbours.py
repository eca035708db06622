"""Hard mismatches: each caption's nearest captions belong to other images and never repeat its own image's texts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.text.neighbours import nearest_other_captions


def unit(rows: list[list[float]]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_nearest_captions_skip_their_own_image_and_its_texts() -> None:
    texts = ["thumbs up: light", "thumbs up light", "thumbs up: dark", "thumbs up light", "a cat", "a dog"]
    owners = np.array([0, 0, 1, 2, 3, 4])  # image 2 is captioned as image 0 is: not a mismatch of it
    table = unit([[1, 0.10, 0], [1, 0.12, 0], [1, 0.3, 0], [1, 0.12, 0], [0, 1, 0.2], [0, 1, 0.5]])
    near = nearest_other_captions(table, owners, texts, k=2)
    assert near.shape == (6, 2) and near.dtype == torch.int64
    assert near[0].tolist() == [2, 4]  # the dark tone first; not its own second caption, not image 2's same text
    assert near[1].tolist() == [2, 4]
    assert near[3].tolist() == [0, 2]  # image 0's other wording is a mismatch of image 2; its own text (row 1) is not
    assert set(near[2].tolist()) == {1, 3}  # the lighter tone's two images
    assert near[4, 0] == 5
    for row in range(6):
        assert all(owners[j] != owners[row] for j in near[row].tolist())


def test_large_caption_sets_are_searched_in_a_bounded_sample(monkeypatch) -> None:
    import ganforge.text.neighbours as neighbours

    monkeypatch.setattr(neighbours, "MAX_CANDIDATES", 10)
    rng = np.random.default_rng(0)
    table = unit(rng.normal(size=(40, 8)).tolist())
    near = nearest_other_captions(table, np.arange(40) // 2, [f"t{i}" for i in range(40)], k=3)
    assert len(set(near.flatten().tolist())) <= 10


def test_a_caption_with_no_other_image_to_mismatch_gets_none() -> None:
    texts = ["a red square", "one red square", "a red square"]
    near = nearest_other_captions(unit([[1, 0], [1, 0.1], [1, 0]]), np.array([0, 0, 1]), texts, k=2)
    assert near[0].tolist() == [-1, -1] and near[1].tolist() == [-1, -1]  # image 1's one text is one of image 0's
    assert near[2].tolist() == [1, 1]  # image 0's other wording is a mismatch of image 1, the only one: drawn twice


def test_the_search_is_cached_by_everything_its_result_depends_on(tmp_path, monkeypatch) -> None:
    import ganforge.text.neighbours as neighbours

    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path))
    texts = ["thumbs up: light", "thumbs up: dark", "a cat", "a dog"]
    table, owners = unit([[1, 0.1], [1, 0.3], [0.1, 1], [0.3, 1]]), np.array([0, 1, 2, 3])
    first = neighbours.cached_nearest_other_captions(table, owners, texts, k=2)
    assert torch.equal(first, nearest_other_captions(table, owners, texts, k=2))
    assert len(list((tmp_path / "text").glob("neighbours-*.npy"))) == 1

    def not_again(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr(neighbours, "nearest_other_captions", not_again)
    again = neighbours.cached_nearest_other_captions(table, owners, texts, k=2)  # read back, not searched
    assert torch.equal(again, first) and again.dtype == torch.int64
    assert torch.equal(neighbours.cached_nearest_other_captions(table, owners, texts, k=2, seed=5), first)  # unsampled
    changed = [dict(owners=np.array([0, 0, 2, 3])), dict(k=1), dict(texts=["a", "b", "c", "d"]),
               dict(embeddings=unit([[1, 0.3], [1, 0.1], [0.1, 1], [0.3, 1]]))]
    for change in changed:
        args = dict(embeddings=table, owners=owners, texts=texts, k=2) | change
        with pytest.raises(AssertionError, match="searched again"):
            neighbours.cached_nearest_other_captions(**args)


def test_a_sampled_search_is_cached_per_seed_and_a_damaged_entry_is_redone(tmp_path, monkeypatch) -> None:
    import ganforge.text.neighbours as neighbours

    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path))
    monkeypatch.setattr(neighbours, "MAX_CANDIDATES", 10)
    table = unit(np.random.default_rng(0).normal(size=(40, 8)).tolist())
    owners, texts = np.arange(40) // 2, [f"t{i}" for i in range(40)]
    seeds = [neighbours.cached_nearest_other_captions(table, owners, texts, k=3, seed=s) for s in (0, 1)]
    assert not torch.equal(seeds[0], seeds[1])  # another sample of candidates
    files = sorted((tmp_path / "text").glob("neighbours-*.npy"))
    assert len(files) == 2
    for path, damage in zip(files, (b"not an array", b"")):  # garbage, and the empty file a crash can leave
        path.write_bytes(damage)
    for seed, expected in enumerate(seeds):
        assert torch.equal(neighbours.cached_nearest_other_captions(table, owners, texts, k=3, seed=seed), expected)
