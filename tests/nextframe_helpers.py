"""Shared by the nextframe tests: a folder of small GIFs of moving squares and tiny training settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ganforge.imaging import save_animation

# Tiny nextframe runs: 16 px, 4-frame clips (2 observed, 2 predicted), width 8, one translator block.
TINY_NF: dict[str, Any] = dict(
    task="nextframe", resolution=16, frames=4, context_frames=2, batch=4, width=8, n_blocks=1, tick_kimg=0.008,
    sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0,
)


def moving_square(frames: int, size: int, side: int, start: tuple[int, int], step: tuple[int, int]) -> np.ndarray:
    """uint8 [T, size, size, 1]: a white square of `side` px moving by `step` per frame, bouncing off the edges."""
    out = np.zeros((frames, size, size, 1), dtype=np.uint8)
    (y, x), (dy, dx) = start, step
    for t in range(frames):
        out[t, y : y + side, x : x + side] = 255
        if not 0 <= y + dy <= size - side:
            dy = -dy
        if not 0 <= x + dx <= size - side:
            dx = -dx
        y, x = y + dy, x + dx
    return out


def write_video_folder(root: Path, n: int = 4, frames: int = 16, size: int = 16, seed: int = 0) -> Path:
    """n grey GIFs of a square moving in a straight line and bouncing: motion a tiny predictor can learn."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        start = tuple(int(v) for v in rng.integers(0, size - 4, 2))
        step = tuple(int(v) for v in rng.choice([-2, -1, 1, 2], 2))
        save_animation(moving_square(frames, size, 4, start, step), root / f"clip{i}.gif")
    return root
