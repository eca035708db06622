"""Crash-safe file writes: temp file, fsync, rename, fsync of the folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    the writers below remove it when they fail, and in a run's folder `engine.rundir` clears one a killed process
    left, by this name's pid."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _replace_from_temp(path: Path, write: Callable[[Any], None]) -> None:
    """`write(file)` into `path`'s temp file, fsync, rename over `path`; the temp file is removed if any step fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see either the old file or the whole new one."""
    path = Path(path)
    _replace_from_temp(path, lambda fh: fh.write(data))
    fsync_dir(path.parent)


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """`np.save` (no pickles) so readers see either the old file or the whole new one."""
    _replace_from_temp(Path(path), lambda fh: np.save(fh, array, allow_pickle=False))


def cached_npy(path: Path, compute: Callable[[], np.ndarray], shape: tuple[int, ...] | None = None,
               dtype: np.dtype | type | None = None) -> tuple[np.ndarray, bool]:
    """(the array saved at `path`, True) when it loads and has `shape` and `dtype`, else (`compute()`'s, cast to
    `dtype`, False), saved there first; a damaged or mismatched entry is recomputed."""
    if Path(path).is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if (shape is None or cached.shape == tuple(shape)) and (dtype is None or cached.dtype == dtype):
                return cached, True
        except (OSError, ValueError, EOFError):  # damaged: an empty or cut-off file
            pass
    array = compute()
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    atomic_save_npy(path, array)
    return array, False


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
