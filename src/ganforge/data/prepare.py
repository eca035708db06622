"""Turn a folder or zip of images into a prepared dataset: decode once, crop, resize, save.

Decoding runs in a small thread pool (Pillow releases the GIL while decoding and resizing) in
chunks, so memory holds only the R x R results and a few full-size images at a time.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ganforge.data.dataset import ImageDataset, complete_meta, save_prepared
from ganforge.data.decode import REASONS, BadImage, decode_guard, decode_rgb
from ganforge.data.folder import ImageSource, bad_file_error, list_files, scan_images
from ganforge.data.resize import check_resolution, square_resize
from ganforge.errors import DataError

log = logging.getLogger("ganforge.data")

# Bump when the decode/crop/resize recipe changes, so on-the-fly caches are rebuilt.
PREPARE_VERSION = "prepare-v2"  # v2: items.json names each image's file (captions find theirs)
USER_LICENSE = "as supplied by the user"
_CHUNK = 64
_MAX_LISTED = 100

Progress = Callable[[int, int], None]


def folder_fingerprint(src: Path) -> str:
    """A fast content key of a folder or zip: sha256 over names, sizes and mtimes (zip: CRC-32s)."""
    h = hashlib.sha256(PREPARE_VERSION.encode())
    for f in list_files(src):
        h.update(f"{f.name}\0{f.size}\0{f.stamp}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def summarize_skips(counts: Counter) -> str:
    """'1 corrupt, 1 truncated, 1 zero-byte' in the fixed order of REASONS."""
    return ", ".join(f"{counts[r]} {r}" for r in REASONS if counts.get(r))


def _decode_all(
    root: Path,
    entries: list[tuple[str, int]],
    resolution: int,
    strict: bool,
    progress: Progress | None,
) -> tuple[np.ndarray, list[int], list[tuple[str, str]]]:
    """Decode and resize every entry; returns the good images [K, R, R, 3], their entry indices, the bad files.

    Good images are packed to the front of one preallocated array, so peak memory is one copy.
    """
    images = np.empty((len(entries), resolution, resolution, 3), dtype=np.uint8)
    kept: list[int] = []
    bad: list[tuple[str, str]] = []

    with ImageSource(root) as source, decode_guard(), ThreadPoolExecutor(_workers()) as pool:

        def work(name: str) -> np.ndarray | BadImage:
            try:
                im = decode_rgb(source.read(name), draft_size=resolution)
                return np.asarray(square_resize(im, resolution), dtype=np.uint8)
            except BadImage as exc:
                return exc

        done, total = 0, len(entries)
        for start in range(0, len(entries), _CHUNK):
            chunk = entries[start : start + _CHUNK]
            for offset, result in enumerate(pool.map(work, [name for name, _ in chunk])):
                i = start + offset
                if isinstance(result, BadImage):
                    if strict:
                        raise bad_file_error(root, entries[i][0], result)
                    bad.append((entries[i][0], result.reason))
                else:
                    images[len(kept)] = result
                    kept.append(i)
                done += 1
                if progress is not None:
                    progress(done, total)
    return images[: len(kept)], kept, bad


def prepare_folder(
    src: Path,
    out: Path | None,
    resolution: int,
    strict: bool = False,
    progress: Progress | None = None,
) -> ImageDataset:
    """Prepare a folder or zip of images at resolution x resolution RGB; save it to `out` if given.

    Bad files are skipped with one warning that counts them by reason (an error with `strict`).
    `progress(done, total)` is called after each file.
    """
    resolution = check_resolution(resolution)
    scan = scan_images(src)  # strictness is applied while decoding, in name order
    root = scan.root
    total = scan.total
    if progress is not None:
        progress(0, total)
    images, kept, bad = _decode_all(root, scan.entries, resolution, strict, progress)
    counts = Counter(reason for _, reason in bad)
    if not kept:
        raise DataError(
            f"no usable images in {root}: all {total} files were skipped ({summarize_skips(counts)}); "
            "check that the files are images Pillow can read"
        )
    if bad:
        log.warning(
            "skipped %d of %d files in %s: %s (use --strict to make this an error)",
            len(bad),
            total,
            root,
            summarize_skips(counts),
        )
    labels = None
    if scan.labelled:
        labels = np.array([scan.entries[i][1] for i in kept], dtype=np.int64)
    meta = {
        "name": root.stem if root.is_file() else root.name,
        "source": str(root),
        "source_kind": "zip" if root.is_file() else "folder",
        "license": USER_LICENSE,
        "fingerprint": folder_fingerprint(root),
        "prepare_version": PREPARE_VERSION,
        "resize": "centre crop to square, Pillow Lanczos (reducing_gap 3)",
        "skipped": {r: counts[r] for r in REASONS if counts.get(r)},
        "skipped_total": len(bad),
        "skipped_files": [[name, reason] for name, reason in bad[:_MAX_LISTED]],
        "ignored_top_level": len(scan.ignored_top_level),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    items = [{"file": scan.entries[i][0]} for i in kept]  # as the source names it: a caption file sits beside
    ds = ImageDataset(images, labels, list(scan.class_names), meta, None, items=items)
    ds.meta = complete_meta(ds)
    if out is not None:
        save_prepared(ds, Path(out).expanduser())
    return ds
