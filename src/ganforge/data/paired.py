"""Paired datasets for image-to-image translation: item i of A is the input for item i of B.

`resolve_paired(data, R, split, direction)` accepts

- a folder or zip with `A/` and `B/` subfolders whose files pair by name (extension aside, so
  `A/x.png` pairs with `B/x.jpg`); names without a partner are an error that lists some of them;
- a folder or zip of side-by-side A|B images (the pix2pix format), split at the width midpoint;
- `emoji`: the same emoji drawn by Google (A) and Twitter (B), aligned by file name (code points);
- `edges:SRC` / `gray:SRC`: pairs derived from any dataset SRC (built-in name such as `emoji` or
  `emoji:twitter`, folder, zip, prepared dataset): A is its line drawing or its luma, B the image;
- `labels:PATH`: a folder or zip with `images/` and `labels/`; A is the integer label map (uint8
  ids, nearest-resized), B the image; the number of classes is the largest id + 1.

Folder pairs and derived inputs are decoded or computed once and cached under `prepared_dir()`,
keyed by the source's fingerprint, like `resolve_dataset`'s on-the-fly preparations. Every dataset
has a fixed, seeded 10% test split (`split="test"`; emoji, also as the source of derived pairs, are
split with their skin-tone variants, `photos` crops by photo: see `data.split`), and `direction="BtoA"` swaps the sides.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from ganforge.data import derive as derive_mod
from ganforge.data.builtin import BuiltinDataset, parse_builtin
from ganforge.data.dataset import ImageDataset, atomic_dir, is_prepared, load_prepared, write_prepared_files
from ganforge.data.decode import BadImage, decode_guard, decode_rgb, open_image
from ganforge.data.folder import ImageSource, _strip_wrappers, bad_file_error, check_source, list_files
from ganforge.data.lock import cache_lock
from ganforge.data.prepare import Progress, _workers, folder_fingerprint, summarize_skips
from ganforge.data.resize import check_resolution, square_resize
from ganforge.data.resolve import _check_strict_cache, _safe_name, resolve_dataset
from ganforge.data.split import SPLIT_SEED, group_keys, pick, split_by, split_indices
from ganforge.errors import DataError
from ganforge.paths import prepared_dir

log = logging.getLogger("ganforge.data")

DIRECTIONS = ("AtoB", "BtoA")
# Bump when reading or pairing changes, so cached pairs are rebuilt.
PAIRS_VERSION = "pairs-v1"
DERIVED_KINDS = {"edges": "edges", "gray": "gray", "grey": "gray", "labels": "labels"}
# Built-ins whose variants are the same items in two styles: name -> (A variant, B variant).
PAIRED_BUILTINS = {"emoji": ("google", "twitter")}
SIDE_BY_SIDE_MIN_RATIO = 1.5  # width / height below this is not an A|B image
_LISTED = 5
_CHUNK = 64


class TwoSides:
    """What paired and unpaired holders share: sides `a` and `b`, uint8 [N, H, W, C] at one resolution."""

    a: np.ndarray
    b: np.ndarray

    @property
    def a_channels(self) -> int:
        return int(self.a.shape[3])

    @property
    def b_channels(self) -> int:
        return int(self.b.shape[3])

    @property
    def resolution(self) -> int:
        return int(self.a.shape[1])


@dataclass
class PairedData(TwoSides):
    """Aligned inputs and targets held in memory; what paired translation tasks train on."""

    a: np.ndarray  # uint8 [N, H, W, Ca]: the input (class ids when num_labels is set)
    b: np.ndarray  # uint8 [N, H, W, Cb]: the target
    names: list[str]  # one per pair, e.g. the shared file stem
    num_labels: int | None = None  # set when A is a label map with ids 0..num_labels-1
    meta: dict = field(default_factory=dict)  # name, kind, source, license, fingerprint, ...
    split: str = "all"  # train | test | all
    direction: str = "AtoB"
    groups: np.ndarray | None = field(default=None, repr=False)  # split group per pair (data.split.group_keys)

    def __post_init__(self) -> None:
        for side, arr in (("a", self.a), ("b", self.b)):
            if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] not in (1, 3):
                raise ValueError(
                    f"{side} must be uint8 [N, H, W, C] with C in (1, 3); got {arr.dtype} {arr.shape}"
                )
        if self.a.shape[:3] != self.b.shape[:3]:
            raise ValueError(f"a and b must share [N, H, W]; got {self.a.shape} and {self.b.shape}")
        if len(self.names) != len(self.a):
            raise ValueError(f"names must have one entry per pair ({len(self.a)}), got {len(self.names)}")
        if self.groups is not None and len(self.groups) != len(self.a):
            raise ValueError(f"groups must have one entry per pair ({len(self.a)}), got {len(self.groups)}")

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or "pairs")

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def subset(self, indices: np.ndarray) -> PairedData:
        """The pairs at `indices` (copies), same metadata."""
        idx = np.asarray(indices, dtype=np.int64)
        groups = None if self.groups is None else np.asarray(self.groups)[idx]
        return replace(self, a=self.a[idx], b=self.b[idx], names=[self.names[i] for i in idx], groups=groups)

    def swapped(self) -> PairedData:
        """B becomes the input and A the target (direction BtoA)."""
        if self.num_labels is not None:
            raise DataError(
                f"{self.name} pairs label maps with images; only labels -> images (--direction AtoB) is supported"
            )
        flip = {"AtoB": "BtoA", "BtoA": "AtoB"}[self.direction]
        return replace(self, a=self.b, b=self.a, direction=flip)


def check_direction(direction: str) -> str:
    """'AtoB' or 'BtoA' (any case); DataError otherwise."""
    for d in DIRECTIONS:
        if str(direction).strip().lower() == d.lower():
            return d
    raise DataError(
        f"direction {direction!r} is not AtoB or BtoA; AtoB translates A into B, BtoA the reverse"
    )


def apply_split(pairs: PairedData, split: str, direction: str, split_seed: int) -> PairedData:
    """The held-out or training part of a full pair set, turned to `direction`; by group when pairs have groups."""
    direction = check_direction(direction)
    idx = pick(split_indices(len(pairs), split_seed, what=pairs.name, groups=pairs.groups), split)
    out = pairs.subset(idx) if idx is not None else pairs
    out = replace(out, split=split.strip().lower(), meta=dict(out.meta, split_seed=split_seed))
    return out.swapped() if direction == "BtoA" else out


def resolve_paired(
    data: str | Path,
    resolution: int,
    split: str = "train",
    direction: str = "AtoB",
    strict: bool = False,
    split_seed: int = SPLIT_SEED,
    progress: Progress | None = None,
) -> PairedData:
    """The paired dataset `data` names at R x R: its `split` part, turned to `direction` (see the module doc)."""
    resolution = check_resolution(resolution)
    check_direction(direction)
    pairs = load_pairs(data, resolution, strict=strict, progress=progress)
    return apply_split(pairs, split, direction, split_seed)


def parse_derived(text: str) -> tuple[str, str] | None:
    """('edges' | 'gray' | 'labels', source) for specs such as `edges:emoji`, else None."""
    m = re.match(r"^\s*([A-Za-z]+):(.+)$", text)
    if not m or m.group(1).lower() not in DERIVED_KINDS:
        return None
    return DERIVED_KINDS[m.group(1).lower()], m.group(2).strip()


def load_pairs(
    data: str | Path, resolution: int, strict: bool = False, progress: Progress | None = None
) -> PairedData:
    """Every pair `data` names at R x R, direction AtoB, before the train/test split."""
    resolution = check_resolution(resolution)
    text = str(data).strip()
    if not isinstance(data, Path):
        derived = parse_derived(text)
        if derived is not None:
            kind, source = derived
            if kind == "labels":
                return _folder_pairs(Path(source).expanduser(), resolution, strict, progress, kind="labels")
            return derived_pairs(kind, source, resolution, strict=strict, progress=progress)
        hit = parse_builtin(text)
        if hit is not None:
            return builtin_pairs(*hit, resolution)
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(
            f"--data {text!r} is neither a paired built-in ({', '.join(PAIRED_BUILTINS)}), a derived pair "
            "(edges:SRC, gray:SRC, labels:FOLDER) nor an existing folder or zip of pairs"
        )
    return _folder_pairs(path, resolution, strict, progress)


# --- built-in pairs ---------------------------------------------------------------------------


def builtin_pairs(builtin: BuiltinDataset, variant: str | None, resolution: int) -> PairedData:
    """A built-in whose two variants draw the same items (emoji: google -> twitter), aligned by file."""
    if builtin.name not in PAIRED_BUILTINS:
        raise DataError(
            f"built-in {builtin.name!r} has no pairs; derive them with edges:{builtin.name} or gray:{builtin.name}, "
            f"or use a paired built-in ({', '.join(PAIRED_BUILTINS)})"
        )
    if variant is not None:
        raise DataError(
            f"paired {builtin.name} always pairs {' -> '.join(PAIRED_BUILTINS[builtin.name])}; write --data "
            f"{builtin.name} (and --direction BtoA for the reverse) instead of {builtin.name}:{variant}"
        )
    va, vb = PAIRED_BUILTINS[builtin.name]
    da, db = builtin.at_resolution(resolution, va), builtin.at_resolution(resolution, vb)
    files_a = [str(it.get("file")) for it in da.items or []]
    files_b = [str(it.get("file")) for it in db.items or []]
    if not files_a or files_a != files_b:
        raise DataError(
            f"the cached {va} and {vb} variants of {builtin.name} are not aligned ({len(files_a)} vs {len(files_b)} "
            f"items); fetch again with `ganforge data fetch {builtin.name} --force`"
        )
    meta = {
        "name": f"{builtin.name}-{va}-{vb}",
        "kind": "builtin",
        "source": builtin.name,
        "a": f"{builtin.name}:{va}",
        "b": f"{builtin.name}:{vb}",
        "license": builtin.license,
        "credit": builtin.credit,
        "fingerprint": f"{builtin.native_fingerprint(va)}|{builtin.native_fingerprint(vb)}",
        "resolution": resolution,
    }
    names = [PurePosixPath(f).stem for f in files_a]
    meta["split_by"] = split_by(builtin.name)
    groups = group_keys(da, builtin.name)
    return PairedData(np.asarray(da.images), np.asarray(db.images), names, meta=meta, groups=groups)


# --- derived pairs ----------------------------------------------------------------------------


def source_key(ds: ImageDataset) -> str:
    """What identifies a resolved source's pixels: its recorded fingerprints, else a hash of its images."""
    meta = ds.meta
    parts = [
        str(meta.get(k, ""))
        for k in ("name", "variant", "fingerprint", "source_fingerprint", "created", "resized_from")
    ]
    if not meta.get("fingerprint") and not meta.get("source_fingerprint"):
        parts.append(hashlib.sha256(np.ascontiguousarray(ds.images).tobytes()).hexdigest())
    parts += [str(ds.resolution), str(ds.channels), str(len(ds))]
    return "\0".join(parts)


def item_names(ds: ImageDataset) -> list[str]:
    """Per-item names: the file stems built-ins record (emoji code points), else zero-padded indices."""
    if ds.items is not None and all(isinstance(it, dict) and it.get("file") for it in ds.items):
        return [PurePosixPath(str(it["file"])).stem for it in ds.items]
    return [f"{i:06d}" for i in range(len(ds))]


def derived_pairs(
    kind: str,
    source: str | Path,
    resolution: int,
    strict: bool = False,
    progress: Progress | None = None,
) -> PairedData:
    """(derived input, image) pairs from any dataset; the input is computed once and cached.

    The source itself is resolved (and cached) by `resolve_dataset`; only the derived side A is
    stored, under a key made of the source's fingerprint, the recipe version and the resolution.
    """
    if kind not in derive_mod.DERIVATIONS:
        raise DataError(f"unknown derived pair {kind!r}; choose one of: {', '.join(derive_mod.DERIVATIONS)}")
    src = resolve_dataset(source, resolution, strict=strict, progress=progress)
    key = hashlib.sha256(
        "\0".join([PAIRS_VERSION, derive_mod.DERIVE_VERSION, kind, source_key(src)]).encode(
            "utf-8", "surrogateescape"
        )
    ).hexdigest()
    out = prepared_dir() / f"{kind}-{_safe_name(src.name)}-{key[:12]}-{resolution}"
    images = np.asarray(src.images)

    def build() -> tuple[dict[str, np.ndarray], dict]:
        log.info(
            "deriving %s of %s at %dx%d (once; cached in %s)", kind, src.name, resolution, resolution, out
        )
        return {"A": derive_mod.derive(kind, images)}, {}

    sides, info = cached_sides(out, key, build)
    a = sides["A"]
    if a.shape[:3] != images.shape[:3]:
        raise DataError(f"cached {kind} pairs in {out} do not match their source; delete {out} and try again")
    meta = {
        "name": f"{kind}-{src.name}",
        "kind": kind,
        "source": str(source),
        "a": f"{kind} of {src.name}",
        "b": src.name,
        "license": src.meta.get("license", ""),
        "credit": src.meta.get("credit", ""),
        "fingerprint": key,
        "resolution": resolution,
        "cache": str(out),
    }
    groups = group_keys(src, source)
    meta["split_by"] = split_by(source) if groups is not None else "item"
    return PairedData(a, images, item_names(src), meta=meta, groups=groups)


# --- the cache --------------------------------------------------------------------------------


def cached_sides(
    out: Path, fingerprint: str, build: Callable[[], tuple[dict[str, np.ndarray], dict]]
) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays by side name ('A', 'B') plus info, from `out` when its fingerprint matches, else built and saved.

    Each side is stored as a prepared dataset directory (so `ganforge data` tools can read it),
    next to pairs.json; the whole folder is written atomically under a cross-process lock.
    """
    with cache_lock(f"prepared-{out.name}"):
        hit = _load_sides(out, fingerprint)
        if hit is not None:
            log.info("using the cached pairs in %s", out)
            return hit
        sides, info = build()
        info = dict(info, fingerprint=fingerprint, pairs_version=PAIRS_VERSION, sides=sorted(sides))
        with atomic_dir(out) as tmp:
            for side, arr in sides.items():
                (tmp / side).mkdir()
                ds = ImageDataset(arr, None, [], {"name": f"{out.name}-{side}", "fingerprint": fingerprint})
                labels = info.get("num_labels") is not None and side == "A"
                write_prepared_files(ds, tmp / side, preview=not labels)
            (tmp / "pairs.json").write_text(
                json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        return sides, info


def _load_sides(out: Path, fingerprint: str) -> tuple[dict[str, np.ndarray], dict] | None:
    try:
        info = json.loads((out / "pairs.json").read_text(encoding="utf-8"))
        if info.get("fingerprint") != fingerprint or info.get("pairs_version") != PAIRS_VERSION:
            return None
        sides = {}
        for side in info["sides"]:
            if not is_prepared(out / side):
                return None
            sides[side] = np.asarray(load_prepared(out / side).images)
        return sides, info
    except (OSError, ValueError, KeyError, TypeError, DataError):
        return None


# --- folders of pairs -------------------------------------------------------------------------


def _stem(name: str) -> str:
    return str(PurePosixPath(name).with_suffix(""))


def match_names(
    files_a: list[str], files_b: list[str], root: Path, side_a: str = "A", side_b: str = "B"
) -> list[tuple[str, str, str]]:
    """(stem, file in A, file in B) for every stem, sorted; DataError listing the names without a partner.

    Files are given relative to their side folder; `x.png` pairs with `x.jpg`, `sub/x.png` with `sub/x.png`.
    """
    by_side = []
    for side, files in ((side_a, files_a), (side_b, files_b)):
        stems: dict[str, str] = {}
        for f in files:
            s = _stem(f)
            if s in stems:
                raise DataError(
                    f"{root}: {side}/ holds two images named {s!r} ({stems[s]} and {f}); rename one so each name "
                    "appears once per side"
                )
            stems[s] = f
        by_side.append(stems)
    sa, sb = by_side
    only_a, only_b = sorted(set(sa) - set(sb)), sorted(set(sb) - set(sa))
    if only_a or only_b:

        def listing(names: list[str]) -> str:
            shown = ", ".join(names[:_LISTED])
            return f"{shown}, ..." if len(names) > _LISTED else shown or "none"

        raise DataError(
            f"{root}: the images in {side_a}/ and {side_b}/ do not pair up by name: {len(only_a)} only in "
            f"{side_a}/ ({listing(only_a)}) and {len(only_b)} only in {side_b}/ ({listing(only_b)}); every "
            f"{side_a}/ image needs a {side_b}/ image of the same name (the extension may differ): rename or "
            "remove the unmatched files"
        )
    return [(s, sa[s], sb[s]) for s in sorted(sa)]


def _split_sides(rel: list[str], wanted: tuple[str, str]) -> list[tuple[str, list[str]]] | None:
    """[(folder as found, names under it)] for the two wanted top-level folders (any case), or None if one is absent."""
    tops = {r.split("/", 1)[0] for r in rel if "/" in r}
    out = []
    for want in wanted:
        hit = sorted(t for t in tops if t.lower() == want.lower())
        if not hit:
            return None
        top = hit[0]
        out.append((top, [r[len(top) + 1 :] for r in rel if r.startswith(top + "/")]))
    return out


def _folder_pairs(
    path: Path,
    resolution: int,
    strict: bool,
    progress: Progress | None,
    kind: str | None = None,
) -> PairedData:
    """A/B folders, side-by-side images or images/labels folders (kind='labels'), decoded once and cached."""
    root = check_source(path)
    if is_prepared(root):
        raise DataError(
            f"{root} is a prepared dataset of single images, not pairs; derive pairs from it with edges:{path} or "
            f"gray:{path}, or give the raw folder with A/ and B/ subfolders"
        )
    files = list_files(root)
    if not files:
        raise DataError(
            f"no images found in {root}; give a folder or zip with A/ and B/ subfolders or A|B images"
        )
    prefix = _strip_wrappers([f.name for f in files])
    rel = [f.name[len(prefix) :] for f in files]
    if kind == "labels":
        sides = _split_sides(rel, ("labels", "images"))
        if sides is None:
            raise DataError(
                f"labels:{path} needs two subfolders, images/ and labels/ (integer label-map PNGs of the same names); "
                f"{root} has {', '.join(sorted({r.split('/', 1)[0] + '/' for r in rel if '/' in r})) or 'none'}"
            )
        (tl, fl), (ti, fi) = sides
        jobs = [
            (s, f"{prefix}{tl}/{a}", f"{prefix}{ti}/{b}") for s, a, b in match_names(fl, fi, root, tl, ti)
        ]
        work = _label_pair
    else:
        sides = _split_sides(rel, ("A", "B"))
        if sides is not None:
            kind = "ab"
            (ta, fa), (tb, fb) = sides
            jobs = [
                (s, f"{prefix}{ta}/{a}", f"{prefix}{tb}/{b}") for s, a, b in match_names(fa, fb, root, ta, tb)
            ]
            work = _ab_pair
        else:
            if _split_sides(rel, ("labels", "images")) is not None:
                raise DataError(f"{root} holds images/ and labels/ folders; write labels:{path} to pair them")
            kind = "side-by-side"
            jobs = [(_stem(r), prefix + r, "") for r in rel]
            _check_side_by_side(root, jobs[0][1])
            work = _side_by_side_pair
    fingerprint = hashlib.sha256(f"{PAIRS_VERSION}\0{kind}\0{folder_fingerprint(root)}".encode()).hexdigest()
    stem = root.stem if root.is_file() else root.name
    out = prepared_dir() / f"{kind}-{_safe_name(stem)}-{fingerprint[:12]}-{resolution}"

    def build() -> tuple[dict[str, np.ndarray], dict]:
        log.info(
            "reading %d %s pairs from %s at %dx%d (once; cached in %s)",
            len(jobs),
            kind,
            root,
            resolution,
            resolution,
            out,
        )
        return _decode_pairs(root, jobs, work, resolution, strict, progress, kind)

    sides_arr, info = cached_sides(out, fingerprint, build)
    meta = {
        "name": _safe_name(stem),
        "kind": kind,
        "source": str(root),
        "license": "as supplied by the user",
        "fingerprint": fingerprint,
        "resolution": resolution,
        "skipped_files": info.get("skipped_files", []),
        "skipped_total": info.get("skipped_total", 0),
        "cache": str(out),
    }
    pairs = PairedData(sides_arr["A"], sides_arr["B"], list(info["names"]), info.get("num_labels"), meta)
    _check_strict_cache(pairs, strict)  # type: ignore[arg-type]  # reads only .meta
    return pairs


def _check_side_by_side(root: Path, first: str) -> None:
    """Refuse a folder of ordinary images before decoding it all as A|B halves."""
    with ImageSource(root) as source:
        try:
            with Image.open(io.BytesIO(source.read(first))) as im:
                w, h = im.size
        except (BadImage, OSError, ValueError, SyntaxError):
            return  # the decode pass reports the bad file
    if w < SIDE_BY_SIDE_MIN_RATIO * h:
        raise DataError(
            f"{root} has no A/ and B/ subfolders and its images are not side-by-side A|B pairs ({first} is {w}x{h}, "
            "expected about twice as wide as high); give a folder with A/ and B/ subfolders, A|B images, or a derived "
            "pair such as edges:PATH"
        )


Work = Callable[[ImageSource, str, str, int], tuple[np.ndarray, np.ndarray]]


def _rgb_square(source: ImageSource, name: str, resolution: int) -> np.ndarray:
    im = decode_rgb(source.read(name), draft_size=resolution)
    return np.asarray(square_resize(im, resolution), dtype=np.uint8)


def _ab_pair(source: ImageSource, fa: str, fb: str, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    return _rgb_square(source, fa, resolution), _rgb_square(source, fb, resolution)


def _side_by_side_pair(
    source: ImageSource, name: str, _: str, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    im = decode_rgb(source.read(name))
    w, h = im.size
    if w % 2:
        raise DataError(
            f"side-by-side image {name!r} in {source.root} is {w} px wide; an odd width cannot be split into A|B "
            "halves at the midpoint: crop it to an even width or remove it"
        )
    half = w // 2
    # crop each half out first: resizing with a box would let Lanczos read across the midpoint
    a = square_resize(im.crop((0, 0, half, h)), resolution)
    b = square_resize(im.crop((half, 0, w, h)), resolution)
    return np.asarray(a, dtype=np.uint8), np.asarray(b, dtype=np.uint8)


LABEL_MODES = ("L", "P", "1", "I", "I;16", "I;16L", "I;16B")


def read_label_map(data: bytes, name: str, root: Path) -> np.ndarray:
    """uint8 [H, W] class ids of a single-channel integer PNG (mode L, P, 1 or I); DataError for colour maps."""
    im = open_image(data)
    if im.mode not in LABEL_MODES:
        raise DataError(
            f"label map {name!r} in {root} has mode {im.mode}; label maps must be single-channel integer PNGs "
            "(mode L, P or I) holding one class id per pixel, not colour-coded images"
        )
    ids = np.asarray(im)
    if ids.dtype == bool:
        ids = ids.astype(np.uint8)
    if ids.size and (int(ids.max()) > 255 or int(ids.min()) < 0):
        raise DataError(
            f"label map {name!r} in {root} holds class id {int(ids.max())}; ids must lie in 0..255"
        )
    return ids.astype(np.uint8)


def _label_pair(source: ImageSource, fl: str, fi: str, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    ids = read_label_map(source.read(fl), fl, source.root)
    im = decode_rgb(source.read(fi))
    if im.size != (ids.shape[1], ids.shape[0]):
        raise DataError(
            f"label map {fl!r} is {ids.shape[1]}x{ids.shape[0]} but its image {fi!r} is {im.size[0]}x{im.size[1]} "
            f"in {source.root}; a label map must have its image's size"
        )
    lab = square_resize(Image.fromarray(ids, "L"), resolution, nearest=True)
    return np.asarray(lab, dtype=np.uint8)[..., None], np.asarray(
        square_resize(im, resolution), dtype=np.uint8
    )


def _decode_pairs(
    root: Path,
    jobs: list[tuple[str, str, str]],
    work: Work,
    resolution: int,
    strict: bool,
    progress: Progress | None,
    kind: str,
) -> tuple[dict[str, np.ndarray], dict]:
    """Decode every (name, file A, file B) job; a pair with a bad file is skipped (an error with `strict`)."""
    labels = kind == "labels"
    a = np.empty((len(jobs), resolution, resolution, 1 if labels else 3), dtype=np.uint8)
    b = np.empty((len(jobs), resolution, resolution, 3), dtype=np.uint8)
    kept: list[int] = []
    bad: list[tuple[str, str]] = []

    with ImageSource(root) as source, decode_guard(), ThreadPoolExecutor(_workers()) as pool:

        def run(job: tuple[str, str, str]) -> tuple[np.ndarray, np.ndarray] | tuple[str, BadImage]:
            current = job[1]
            try:
                return work(source, job[1], job[2], resolution)
            except BadImage as exc:
                # which file was bad: retry each alone (cheap; only on failure)
                for f in (job[1], job[2]):
                    if not f:
                        continue
                    try:
                        open_image(source.read(f))
                    except BadImage:
                        current = f
                        break
                return current, exc

        done = 0
        if progress is not None:
            progress(0, len(jobs))
        for start in range(0, len(jobs), _CHUNK):
            chunk = jobs[start : start + _CHUNK]
            for offset, result in enumerate(pool.map(run, chunk)):
                if isinstance(result[1], BadImage):
                    fname, exc = result
                    if strict:
                        raise bad_file_error(root, fname, exc)
                    bad.append((fname, exc.reason))
                else:
                    a[len(kept)], b[len(kept)] = result
                    kept.append(start + offset)
                done += 1
                if progress is not None:
                    progress(done, len(jobs))
    counts = Counter(reason for _, reason in bad)
    if not kept:
        raise DataError(
            f"no usable pairs in {root}: all {len(jobs)} were skipped ({summarize_skips(counts)}); "
            "check that the files are images Pillow can read"
        )
    if bad:
        log.warning(
            "skipped %d of %d pairs in %s: %s (use --strict to make this an error)",
            len(bad),
            len(jobs),
            root,
            summarize_skips(counts),
        )
    info: dict = {
        "names": [jobs[i][0] for i in kept],
        "skipped_total": len(bad),
        "skipped_files": [[n, r] for n, r in bad[:100]],
        "num_labels": int(a[: len(kept)].max()) + 1 if labels else None,
    }
    return {"A": a[: len(kept)], "B": b[: len(kept)]}, info


__all__ = [
    "DIRECTIONS",
    "PairedData",
    "apply_split",
    "builtin_pairs",
    "check_direction",
    "derived_pairs",
    "load_pairs",
    "match_names",
    "parse_derived",
    "read_label_map",
    "resolve_paired",
]
