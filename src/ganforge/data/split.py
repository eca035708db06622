"""The held-out test split every translation dataset carries: fixed, seeded, 10%, at least one item.

The split is a pure function of (item count, seed): a seeded permutation of the items in their
stored (name) order, whose first round(10%) entries (at least one) are the test set. Both index lists
come back sorted, so train and test keep the dataset's order and never share an item.
"""

from __future__ import annotations

import numpy as np

from ganforge.errors import DataError

SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.1
SPLIT_SEED = 0


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
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices into n items, each sorted; DataError when n < 2 leaves nothing to train on."""
    if n < 2:
        raise DataError(f"{what} has {n} item(s); a held-out test split needs at least 2 (add more images)")
    perm = np.random.default_rng(seed).permutation(n)
    k = held_out_count(n, fraction)
    return np.sort(perm[k:]), np.sort(perm[:k])


def pick(indices: tuple[np.ndarray, np.ndarray], split: str) -> np.ndarray | None:
    """The indices of `split` (None for all: keep every item, no copy)."""
    split = check_split(split)
    if split == "all":
        return None
    return indices[0] if split == "train" else indices[1]
