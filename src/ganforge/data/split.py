"""The held-out test split every translation dataset carries: fixed, seeded, 10%, at least one item.

The split is a pure function of (item count, seed, groups): a seeded permutation of the items in their
stored (name) order, whose first round(10%) entries (at least one) are the test set. Both index lists
come back sorted, so train and test keep the dataset's order and never share an item.

Built-ins whose items are near-copies of each other are split by group instead (`group_keys`): an emoji
and its skin-tone variants are one group, `photos` crops are grouped by their photo. Whole groups are
held out (seeded, until about 10% of the items, at least one group), so no test item has a sibling in
training. Everything else has no groups and keeps the per-item split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

import numpy as np

from ganforge.errors import DataError

SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.1
SPLIT_SEED = 0
# Built-ins split by group: name -> what a group is (recorded as split_by).
GROUPED_BUILTINS = {"emoji": "emoji", "photos": "photo"}
SKIN_TONE = re.compile(r"-1f3f[b-f]", re.IGNORECASE)  # Fitzpatrick modifiers U+1F3FB..U+1F3FF in a file stem


def check_split(split: str) -> str:
    """The split name, lower-cased; DataError unless it is train, test or all."""
    name = str(split).strip().lower()
    if name not in SPLITS:
        raise DataError(
            f"split {split!r} is not one of {', '.join(SPLITS)}; use train for training, test for figures"
        )
    return name


def held_out_count(n: int, fraction: float = TEST_FRACTION) -> int:
    """How many of n items are held out: round(fraction * n), at least 1."""
    return max(1, int(round(fraction * n)))


def split_indices(
    n: int,
    seed: int = SPLIT_SEED,
    fraction: float = TEST_FRACTION,
    what: str = "dataset",
    groups: Sequence | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices into n items, each sorted; DataError when n < 2 leaves nothing to train on.

    With `groups` (one key per item) whole groups are held out: the distinct keys, sorted, are permuted
    by `seed` and taken in that order until the test set holds round(fraction * n) items (at least one
    group, never every group), so no group is on both sides.
    """
    if n < 2:
        raise DataError(f"{what} has {n} item(s); a held-out test split needs at least 2 (add more images)")
    k = held_out_count(n, fraction)
    if groups is None:
        perm = np.random.default_rng(seed).permutation(n)
        return np.sort(perm[k:]), np.sort(perm[:k])
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must hold one key per item ({n}), got shape {groups.shape}")
    keys, inverse = np.unique(groups, return_inverse=True)
    if len(keys) < 2:
        raise DataError(
            f"{what} has {n} items but they are all one group; a held-out test split needs at least 2 groups"
        )
    order = np.random.default_rng(seed).permutation(len(keys))
    reached = np.cumsum(np.bincount(inverse, minlength=len(keys))[order])
    m = min(int(np.searchsorted(reached, k)) + 1, len(keys) - 1)
    is_test = np.isin(inverse, order[:m])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def emoji_group(item: dict | str) -> str:
    """The group of one emoji (an items.json record or a file name): skin-tone variants share it.

    A record's emoji.json name, which its skin-tone variants carry too (it also joins variants whose code
    points differ beyond the modifier, such as `1f3cc-fe0f-...` and `1f3cc-1f3fb-...`); without one, the
    file stem with its skin-tone modifiers (-1f3fb .. -1f3ff) removed.
    """
    if isinstance(item, dict):
        if item.get("name"):
            return str(item["name"])
        item = str(item.get("file") or "")
    return SKIN_TONE.sub("", PurePosixPath(str(item)).stem)


def group_keys(dataset, data) -> np.ndarray | None:
    """One group key per item of `dataset` when `data` names a grouped built-in (see GROUPED_BUILTINS), else None.

    emoji: `emoji_group` of each item; photos: the photo each crop was cut from (its label's class name).
    """
    from ganforge.data.builtin import parse_builtin

    hit = parse_builtin(str(data).strip()) if isinstance(data, str) else None
    if hit is None or hit[0].name not in GROUPED_BUILTINS:
        return None
    if hit[0].name == "photos":
        if dataset.labels is None:
            return None
        names = list(dataset.class_names or [])
        labels = np.asarray(dataset.labels)
        return np.array([names[i] if i < len(names) else str(i) for i in labels.tolist()], dtype=object)
    items = dataset.items
    if items is None or len(items) != len(dataset):
        return None
    return np.array([emoji_group(it) for it in items], dtype=object)


def split_by(data) -> str:
    """What `data`'s split holds out: 'emoji' or 'photo' for grouped built-ins, else 'item'."""
    from ganforge.data.builtin import parse_builtin

    hit = parse_builtin(str(data).strip()) if isinstance(data, str) else None
    return GROUPED_BUILTINS.get(hit[0].name, "item") if hit is not None else "item"


def pick(indices: tuple[np.ndarray, np.ndarray], split: str) -> np.ndarray | None:
    """The indices of `split` (None for all: keep every item, no copy)."""
    split = check_split(split)
    if split == "all":
        return None
    return indices[0] if split == "train" else indices[1]


def resolve_split_images(
    data: str,
    resolution: int,
    split: str = "train",
    strict: bool = False,
    progress=None,
    seed: int = SPLIT_SEED,
):
    """(ImageDataset, images uint8 [N, R, R, C] of `split`) for a single-image-set task such as inpaint.

    Any `--data` that `resolve_dataset` takes (folder, zip, prepared set, `emoji`, `photos` crops, ...);
    the split is `split_indices` over the dataset's stored order, so train and test never share an item
    and both are pure functions of the data and the seed. Grouped built-ins are split by `group_keys`:
    `emoji` with their skin-tone variants, `photos` crops by photo, so no held-out image has a near-copy
    (or an overlapping crop) in training.
    """
    from ganforge.data.resolve import resolve_dataset

    split = check_split(split)
    dataset = resolve_dataset(data, resolution, strict=strict, progress=progress)
    groups = group_keys(dataset, data)
    idx = pick(split_indices(len(dataset), seed, what=f"--data {data}", groups=groups), split)
    return dataset, (dataset.images if idx is None else dataset.images[idx])
