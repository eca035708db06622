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
    and both are pure functions of the data and the seed. (Built-in `photos` crops come from six photos:
    held-out crops are unseen crops, but may overlap training crops of the same photo.)
    """
    from ganforge.data.resolve import resolve_dataset

    split = check_split(split)
    dataset = resolve_dataset(data, resolution, strict=strict, progress=progress)
    idx = pick(split_indices(len(dataset), seed, what=f"--data {data}"), split)
    return dataset, (dataset.images if idx is None else dataset.images[idx])
