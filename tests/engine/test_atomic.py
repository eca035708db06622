"""Crash-safe writes: a failed write leaves the old file whole and no temp file behind."""

from __future__ import annotations

import numpy as np
import pytest

from ganforge.engine.atomic import atomic_save_npy, cached_npy


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp_file(tmp_path) -> None:
    path = tmp_path / "features.npy"
    atomic_save_npy(path, np.arange(3, dtype=np.float32))
    with pytest.raises(ValueError):  # an object array needs pickles, which are never written
        atomic_save_npy(path, np.array([{"a": 1}], dtype=object))
    assert np.array_equal(np.load(path), np.arange(3, dtype=np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.npy"]


def test_cached_npy_recomputes_what_does_not_match(tmp_path) -> None:
    path = tmp_path / "a.npy"
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.ones((2, 3))

    first, was_cached = cached_npy(path, compute, shape=(2, 3), dtype=np.float32)
    assert not was_cached and first.dtype == np.float32
    again, was_cached = cached_npy(path, compute, shape=(2, 3), dtype=np.float32)
    assert was_cached and np.array_equal(again, first) and len(calls) == 1
    assert not cached_npy(path, compute, shape=(3, 2))[1]  # another shape: computed again
    np.save(path, np.ones((2, 3), dtype=np.float64))
    assert not cached_npy(path, compute, shape=(2, 3), dtype=np.float32)[1]  # another dtype: computed again
    assert len(calls) == 3
