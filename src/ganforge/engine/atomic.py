"""Crash-safe file writes: temp file, fsync, rename, fsync of the folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np


def fsync_path(path: Path) -> None:
    """Flush a written file, or make a rename inside a folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


fsync_dir = fsync_path
fsync_file = fsync_path


def temp_path(path: Path) -> Path:
    """A hidden sibling of `path` no other process writes (the processes of one run may write the same file at once);
    `engine.rundir` clears those a dead process left, by this name's pid."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """`np.save` (no pickles) so readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    with open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def cached_npy(path: Path, compute: Callable[[], np.ndarray], shape: tuple[int, ...] | None = None,
               dtype: np.dtype | type | None = None) -> tuple[np.ndarray, bool]:
    """(the array saved at `path`, True) when it loads and has `shape` and `dtype`, else (`compute()`'s, cast to
    `dtype`, False), saved there first; a damaged or mismatched entry is recomputed."""
    if Path(path).is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if (shape is None or cached.shape == tuple(shape)) and (dtype is None or cached.dtype == dtype):
                return cached, True
        except (OSError, ValueError):
            pass
    array = compute()
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    atomic_save_npy(path, array)
    return array, False


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
