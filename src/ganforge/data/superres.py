"""Training and test images for super-resolution: high-resolution sources from any dataset, with a fixed split.

`resolve_superres(data, R, split)` returns the source images a superres run crops its R x R high-resolution
targets from:

- built-in sprite sets (emoji, mnist, digits) are used whole at R: `--data emoji --resolution 64 --scale 4`
  trains 16 -> 64 on whole emoji;
- everything else (the built-in `photos`, folders, zips, prepared datasets) is loaded at 2R (`CROP_FACTOR`),
  and training draws a random R x R crop of each (seeded by step), so a photo gives many different crops.

The held-out test split is `data.split`'s fixed seeded 10% (at least one), by item; for grouped built-ins
it is by group (`data.split.group_keys`): `photos`, whose items are overlapping crops of six photos, by
photo (one photo held out), so no test crop shares pixels with a training crop, and `emoji` with their
skin-tone variants. Test images are evaluated on their centred R x R crop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ganforge.data.builtin import parse_builtin
from ganforge.data.resize import MAX_RESOLUTION
from ganforge.data.split import SPLIT_SEED, group_keys, pick, split_by, split_indices

WHOLE_BUILTINS = ("emoji", "mnist", "digits")  # small sprites: used whole, not cropped
CROP_FACTOR = 2


@dataclass
class SRData:
    """High-resolution source images held in memory and how targets are cut from them."""

    images: np.ndarray  # uint8 [N, S, S, C], S >= resolution
    resolution: int  # side of the high-resolution targets
    name: str
    crops: bool  # True: random R x R crops of S x S sources; False: whole images (S == R)
    split: str = "all"
    meta: dict = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return int(self.images.shape[3])

    def __len__(self) -> int:
        return int(self.images.shape[0])


def source_resolution(data: str, resolution: int) -> int:
    """The side sources are loaded at: R for built-in sprite sets, else CROP_FACTOR x R (at most 1024)."""
    hit = parse_builtin(str(data))
    if hit is not None and hit[0].name in WHOLE_BUILTINS:
        return resolution
    return max(resolution, min(CROP_FACTOR * resolution, MAX_RESOLUTION))


def superres_split(n: int, groups: np.ndarray | None, split: str, what: str) -> np.ndarray | None:
    """Indices of `split` among n items: by item, or by group (whole groups held out) when groups are given."""
    return pick(split_indices(n, SPLIT_SEED, what=what, groups=groups), split)


def resolve_superres(
    data: str,
    resolution: int,
    split: str = "train",
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SRData:
    """The high-resolution sources of `data` for `split` (train | test | all); see the module doc."""
    from ganforge.data import resolve_dataset

    side = source_resolution(data, resolution)
    ds = resolve_dataset(data, side, strict=strict, progress=progress)
    groups = group_keys(ds, data)
    idx = superres_split(len(ds), groups, split, f"dataset {data}")
    images = np.asarray(ds.images) if idx is None else np.asarray(ds.images)[idx]
    meta = {"source_resolution": side, "split_by": split_by(data) if groups is not None else "item",
            "items": int(len(ds))}
    return SRData(images=images, resolution=resolution, name=str(ds.meta.get("name", data)), crops=side > resolution,
                  split=split, meta=meta)
