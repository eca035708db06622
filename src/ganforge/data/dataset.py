"""The prepared dataset: uint8 arrays plus a dataset.json, saved atomically and loaded without pickles.

A prepared dataset directory holds

    images.npy     uint8 [N, H, W, C], C in {1, 3}, H == W
    labels.npy     int64 [N]               (only when labelled)
    alpha.npy      uint8 [N, H, W]         (optional: the alpha channel the images were composited from)
    items.json     list of N dicts         (optional: per-image metadata, e.g. emoji names)
    dataset.json   name, resolution, channels, count, class_names, source, license, fingerprint, ...
    preview.png    a grid of up to 64 images
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganforge.errors import DataError

FORMAT_VERSION = 1
PREVIEW_MAX = 64
_REQUIRED = ("images.npy", "dataset.json")


def check_square_images(images: np.ndarray, what: str) -> None:
    """What every in-memory data set holds: uint8 [N, H, W, C] with H == W and 1 or 3 channels."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3) or images.shape[1] != images.shape[2]:
        raise ValueError(f"{what} must be uint8 [N, H, W, C] with H == W and C in (1, 3); got {images.dtype} "
                         f"{images.shape}")


@dataclass
class ImageDataset:
    """Images held in memory with their labels and metadata; what every task trains on."""

    images: np.ndarray  # uint8 [N, H, W, C], C in {1, 3}, H == W
    labels: np.ndarray | None  # int64 [N] or None when unlabelled
    class_names: list[str]  # [] when unlabelled
    meta: dict  # the dataset.json content
    path: Path | None = None
    alpha: np.ndarray | None = None  # uint8 [N, H, W] or None
    items: list[dict] | None = field(default=None, repr=False)  # per-image metadata or None

    def __post_init__(self) -> None:
        imgs = self.images
        check_square_images(imgs, "images")
        n = imgs.shape[0]
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64)
            if self.labels.shape != (n,):
                raise ValueError(f"labels must be [N] = [{n}], got {self.labels.shape}")
            if n and (self.labels.min() < 0 or self.labels.max() >= max(1, len(self.class_names))):
                raise ValueError(f"labels must lie in 0..{len(self.class_names) - 1}")
        if self.alpha is not None and self.alpha.shape != imgs.shape[:3]:
            raise ValueError(f"alpha must be [N, H, W] = {imgs.shape[:3]}, got {self.alpha.shape}")
        if self.items is not None and len(self.items) != n:
            raise ValueError(f"items must have one entry per image ({n}), got {len(self.items)}")

    @property
    def resolution(self) -> int:
        return int(self.images.shape[1])

    @property
    def channels(self) -> int:
        return int(self.images.shape[3])

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.labels is not None else 0

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or (self.path.name if self.path else "dataset"))

    def __len__(self) -> int:
        return int(self.images.shape[0])


def is_prepared(path: Path) -> bool:
    """True when `path` is a prepared dataset directory (images.npy and dataset.json present)."""
    path = Path(path)
    return path.is_dir() and all((path / f).is_file() for f in _REQUIRED)


def complete_meta(ds: ImageDataset) -> dict:
    """dataset.json content: the dataset's meta with the fields derived from its arrays filled in."""
    meta = dict(ds.meta)
    meta.setdefault("name", ds.name)
    meta.update(
        format_version=FORMAT_VERSION,
        resolution=ds.resolution,
        channels=ds.channels,
        count=len(ds),
        labelled=ds.labels is not None,
        num_classes=ds.num_classes,
        class_names=list(ds.class_names) if ds.labels is not None else [],
        has_alpha=ds.alpha is not None,
        has_items=ds.items is not None,
    )
    return meta


@contextmanager
def atomic_dir(out: Path) -> Iterator[Path]:
    """Yield a temp sibling of `out` to fill; on success it replaces `out`, on error it is removed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = out.with_name(f".{out.name}.tmp-{tag}")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out.with_name(f".{out.name}.old-{tag}")
    for attempt in range(3):
        if out.exists():
            os.replace(out, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, out)
            return
        except OSError as exc:  # another writer put `out` back in between: replace it again
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == 2:
                shutil.rmtree(tmp, ignore_errors=True)
                raise


def save_prepared(ds: ImageDataset, out: Path, preview: bool = True) -> Path:
    """Write `ds` as a prepared dataset directory at `out` (atomic; replaces an existing one)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"cannot write a prepared dataset to {out}: it is a file; choose a directory path")
    if out.is_dir() and any(out.iterdir()) and not is_prepared(out):
        raise DataError(
            f"cannot write a prepared dataset to {out}: it is a non-empty folder that is not a prepared dataset; "
            "choose a new or empty directory"
        )
    meta = complete_meta(ds)
    with atomic_dir(out) as tmp:
        write_prepared_files(ds, tmp, preview, meta)
    ds.meta, ds.path = meta, out
    return out


def write_prepared_files(
    ds: ImageDataset, folder: Path, preview: bool = True, meta: dict | None = None
) -> None:
    """Write the prepared-dataset files into an existing (temporary) folder; not atomic by itself."""
    meta = meta if meta is not None else complete_meta(ds)
    np.save(folder / "images.npy", np.ascontiguousarray(ds.images))
    if ds.labels is not None:
        np.save(folder / "labels.npy", np.ascontiguousarray(ds.labels, dtype=np.int64))
    if ds.alpha is not None:
        np.save(folder / "alpha.npy", np.ascontiguousarray(ds.alpha, dtype=np.uint8))
    if ds.items is not None:
        (folder / "items.json").write_text(json.dumps(ds.items, ensure_ascii=False), encoding="utf-8")
    if preview and len(ds):
        write_preview(ds.images, folder / "preview.png")
    (folder / "dataset.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def write_preview(images: np.ndarray, path: Path) -> Path:
    """A grid of up to 64 images spread evenly over the dataset (so every class shows when sorted)."""
    from ganforge.imaging import make_grid, save_image

    n = len(images)
    pick = np.unique(np.linspace(0, n - 1, min(n, PREVIEW_MAX)).round().astype(np.int64))
    return save_image(make_grid(np.asarray(images[pick])), path)


def load_prepared(path: Path, mmap: bool = False) -> ImageDataset:
    """Load a prepared dataset directory (fully into memory unless `mmap`), checking it is whole."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(
            f"prepared dataset {path} does not exist; prepare one with `ganforge data prepare SRC --out {path}`"
        )
    if not is_prepared(path):
        missing = [f for f in _REQUIRED if not (path / f).is_file()]
        raise DataError(
            f"{path} is not a prepared dataset (missing {', '.join(missing)}); "
            f"prepare it with `ganforge data prepare SRC --out {path}`"
        )
    try:
        meta = json.loads((path / "dataset.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("dataset.json is not a JSON object")
        mode = "r" if mmap else None
        images = np.load(path / "images.npy", allow_pickle=False, mmap_mode=mode)
        labels = np.load(path / "labels.npy", allow_pickle=False) if (path / "labels.npy").is_file() else None
        alpha = (
            np.load(path / "alpha.npy", allow_pickle=False, mmap_mode=mode)
            if (path / "alpha.npy").is_file()
            else None
        )
        items = None
        if (path / "items.json").is_file():
            items = json.loads((path / "items.json").read_text(encoding="utf-8"))
        class_names = [str(c) for c in meta.get("class_names") or []]
        if labels is not None and not class_names:
            class_names = [str(i) for i in range(int(labels.max()) + 1)] if labels.size else []
        ds = ImageDataset(images, labels, class_names, meta, path, alpha=alpha, items=items)
    except (OSError, ValueError, EOFError, json.JSONDecodeError) as exc:
        raise DataError(
            f"prepared dataset {path} is corrupt ({exc}); delete it and prepare it again"
        ) from exc
    if int(meta.get("count", len(ds))) != len(ds):
        raise DataError(
            f"prepared dataset {path} is corrupt: dataset.json says {meta.get('count')} images, images.npy has "
            f"{len(ds)}; delete it and prepare it again"
        )
    return ds
