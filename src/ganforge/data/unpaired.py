"""Unpaired datasets for translation without pairs (CycleGAN): two domains of any sizes.

`resolve_unpaired(data, R, split, direction, data_b=None)` accepts

- two sources, `data` and `data_b`, each anything `resolve_dataset` takes (folder, zip, prepared
  dataset, built-in name), decoded and cached by it;
- one folder with `A/` and `B/` (or CycleGAN's `trainA/` and `trainB/`) subfolders;
- `emoji`: Google's emoji (A) against Twitter's (B), each emoji in only one domain: the emoji are
  grouped by name (skin-tone variants stay together) and the groups dealt into two halves by a
  fixed seed, so a model never sees the same emoji in both styles.

Each domain has its own fixed, seeded 10% test split; `direction="BtoA"` swaps the domains.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ganforge.data.builtin import parse_builtin
from ganforge.data.dataset import ImageDataset, check_square_images, is_prepared
from ganforge.data.folder import check_source
from ganforge.data.paired import PAIRED_BUILTINS, TwoSides, builtin_pairs, check_direction, item_names
from ganforge.data.prepare import Progress
from ganforge.data.resize import check_resolution
from ganforge.data.resolve import resolve_dataset
from ganforge.data.split import SPLIT_SEED, check_split, emoji_group, pick, split_indices
from ganforge.errors import DataError

log = logging.getLogger("ganforge.data")

HALVES_SEED = 0  # fixed forever: changing it would move emoji between the domains of old runs
_SUBFOLDERS = (("A", "B"), ("trainA", "trainB"))


@dataclass
class UnpairedData(TwoSides):
    """Two domains of images held in memory; item i of A has nothing to do with item i of B."""

    a: np.ndarray  # uint8 [Na, H, W, Ca]
    b: np.ndarray  # uint8 [Nb, H, W, Cb]
    names_a: list[str]
    names_b: list[str]
    meta: dict = field(default_factory=dict)  # name, kind, sources, license, ...
    split: str = "all"
    direction: str = "AtoB"
    groups_a: list[str] | None = None  # split groups (skin-tone variants of one emoji share one); None: per item
    groups_b: list[str] | None = None

    def __post_init__(self) -> None:
        for side, arr, names in (("a", self.a, self.names_a), ("b", self.b, self.names_b)):
            check_square_images(arr, side)
            if len(names) != len(arr):
                raise ValueError(f"names_{side} must have one entry per image ({len(arr)}), got {len(names)}")
        if self.a.shape[1] != self.b.shape[1]:
            raise ValueError(f"a and b must share the resolution; got {self.a.shape} and {self.b.shape}")

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or "unpaired")

    def swapped(self) -> UnpairedData:
        """The domains exchanged (direction BtoA)."""
        flip = {"AtoB": "BtoA", "BtoA": "AtoB"}[self.direction]
        return replace(self, a=self.b, b=self.a, names_a=self.names_b, names_b=self.names_a, direction=flip,
                       groups_a=self.groups_b, groups_b=self.groups_a)


def resolve_unpaired(
    data: str | Path,
    resolution: int,
    split: str = "train",
    direction: str = "AtoB",
    data_b: str | Path | None = None,
    strict: bool = False,
    split_seed: int = SPLIT_SEED,
    progress: Progress | None = None,
) -> UnpairedData:
    """The two domains `data` (and `data_b`) name at R x R: their `split` parts, turned to `direction`."""
    resolution = check_resolution(resolution)
    direction = check_direction(direction)
    split = check_split(split)
    full = load_domains(data, resolution, data_b=data_b, strict=strict, progress=progress)
    parts = []
    sides = (("A", full.a, full.names_a, full.groups_a), ("B", full.b, full.names_b, full.groups_b))
    for side, arr, names, groups in sides:
        idx = pick(split_indices(len(arr), split_seed, what=f"domain {side} of {full.name}", groups=groups), split)
        parts.append((arr, names) if idx is None else (arr[idx], [names[i] for i in idx]))
    (a, na), (b, nb) = parts
    out = replace(
        full, a=a, b=b, names_a=na, names_b=nb, split=split, meta=dict(full.meta, split_seed=split_seed),
        groups_a=None, groups_b=None,  # the split is made; the groups described the full domains
    )
    return out.swapped() if direction == "BtoA" else out


def load_domains(
    data: str | Path,
    resolution: int,
    data_b: str | Path | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> UnpairedData:
    """Every image of both domains at R x R, direction AtoB, before the train/test split."""
    resolution = check_resolution(resolution)
    if data_b is not None:
        _refuse_aligned_variants(data, data_b)
        da = resolve_dataset(data, resolution, strict=strict, progress=progress)
        db = resolve_dataset(data_b, resolution, strict=strict, progress=progress)
        return _from_datasets(da, db, "two-sources", f"{da.name}-{db.name}")
    text = str(data).strip()
    hit = parse_builtin(text) if not isinstance(data, Path) else None
    if hit is not None:
        builtin, variant = hit
        if builtin.name not in PAIRED_BUILTINS or variant is not None:
            raise DataError(
                f"--data {text!r} is one domain; give the second with --data-b, or use a two-style built-in "
                f"({', '.join(PAIRED_BUILTINS)}) on its own"
            )
        return emoji_halves(builtin, resolution)
    root = check_source(Path(text).expanduser())
    if root.is_dir() and not is_prepared(root):
        for sa, sb in _SUBFOLDERS:
            if (root / sa).is_dir() and (root / sb).is_dir():
                if sa == "trainA" and ((root / "testA").is_dir() or (root / "testB").is_dir()):
                    log.info("using trainA/ and trainB/ of %s; testA/ and testB/ are not read", root)
                da = resolve_dataset(root / sa, resolution, strict=strict, progress=progress)
                db = resolve_dataset(root / sb, resolution, strict=strict, progress=progress)
                return _from_datasets(da, db, "folders", root.name)
    raise DataError(
        f"{root} is one set of images; unpaired data needs two: a folder with A/ and B/ (or trainA/ and trainB/) "
        "subfolders, a second source with --data-b, or a two-style built-in such as emoji"
    )


def _refuse_aligned_variants(data: str | Path, data_b: str | Path) -> None:
    """emoji:google against emoji:twitter would show the model every pair; emoji alone splits them."""
    if isinstance(data, Path) or isinstance(data_b, Path):
        return
    ha, hb = parse_builtin(str(data)), parse_builtin(str(data_b))
    if ha and hb and ha[0] is hb[0] and ha[0].name in PAIRED_BUILTINS:
        raise DataError(
            f"{data} and {data_b} draw the same {ha[0].name} in two styles, so every pair would be seen; write "
            f"--data {ha[0].name} alone for two disjoint halves"
        )


def _from_datasets(da: ImageDataset, db: ImageDataset, kind: str, name: str) -> UnpairedData:
    meta = {
        "name": name,
        "kind": kind,
        "a": da.name,
        "b": db.name,
        "source_a": da.meta.get("source", ""),
        "source_b": db.meta.get("source", ""),
        "license": f"A: {da.meta.get('license', '')}; B: {db.meta.get('license', '')}",
        "resolution": da.resolution,
    }
    return UnpairedData(
        np.asarray(da.images), np.asarray(db.images), item_names(da), item_names(db), meta=meta
    )


def halves(groups: list[str], seed: int = HALVES_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Item indices of two disjoint halves, whole groups dealt by a seeded shuffle until A holds half the items."""
    keys = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(keys))
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    in_a: list[int] = []
    in_b: list[int] = []
    for j in order:
        target = in_a if len(in_a) < len(groups) / 2 else in_b
        target.extend(members[keys[j]])
    return np.sort(np.array(in_a, dtype=np.int64)), np.sort(np.array(in_b, dtype=np.int64))


def emoji_halves(builtin, resolution: int) -> UnpairedData:
    """A two-style built-in split into disjoint halves: A from the first style, B from the second."""
    va, vb = PAIRED_BUILTINS[builtin.name]
    da, db = builtin.at_resolution(resolution, va), builtin.at_resolution(resolution, vb)
    items = da.items or []
    if len(items) != len(da) or [it.get("file") for it in items] != [it.get("file") for it in db.items or []]:
        raise DataError(
            f"the cached {va} and {vb} variants of {builtin.name} are not aligned; fetch again with "
            f"`ganforge data fetch {builtin.name} --force`"
        )
    groups = [emoji_group(it) for it in items]
    ia, ib = halves(groups)
    names = item_names(da)
    meta = {
        "name": f"{builtin.name}-{va}-vs-{vb}",
        "kind": "builtin-halves",
        "a": f"{builtin.name}:{va}",
        "b": f"{builtin.name}:{vb}",
        "license": builtin.license,
        "credit": builtin.credit,
        "halves_seed": HALVES_SEED,
        "resolution": resolution,
    }
    return UnpairedData(
        np.asarray(da.images)[ia],
        np.asarray(db.images)[ib],
        [names[i] for i in ia],
        [names[i] for i in ib],
        meta=meta,
        groups_a=[groups[i] for i in ia],
        groups_b=[groups[i] for i in ib],
    )


def held_out_counterparts(data: str | Path, resolution: int, names: list[str], direction: str = "AtoB",
                          data_b: str | Path | None = None) -> np.ndarray | None:
    """The other style's renderings of the named inputs, for a two-style built-in split into halves.

    The halves are disjoint, so training never loads these images (the counterpart of an A-half emoji
    is in neither part of B); they let an unpaired model be scored against the right answer for each
    input. None for data without counterparts (two folders, `data_b`). uint8 [N, R, R, C], in `names`' order.
    """
    hit = parse_builtin(str(data).strip()) if data_b is None and not isinstance(data, Path) else None
    if hit is None or hit[0].name not in PAIRED_BUILTINS or hit[1] is not None:
        return None
    pairs = builtin_pairs(hit[0], None, resolution)  # the two styles aligned, names as the halves name them
    other = pairs.b if check_direction(direction) == "AtoB" else pairs.a
    index = {name: i for i, name in enumerate(pairs.names)}
    missing = [name for name in names if name not in index]
    if missing:
        raise DataError(f"no {hit[0].name} counterpart for {len(missing)} test images, e.g. {missing[:3]}")
    return other[[index[name] for name in names]]


__all__ = ["UnpairedData", "emoji_halves", "halves", "held_out_counterparts", "load_domains", "resolve_unpaired"]
