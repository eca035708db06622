"""Shared set-up of the video generation tests: a small folder of GIFs and one tiny trained `video` run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ganforge.imaging import save_animation

# Tiny video runs: 16 px frames, clips of 4, width 4, a handful of steps.
TINY_VIDEO: dict[str, Any] = dict(
    task="video", resolution=16, frames=4, batch=4, width=4, z_dim=8, tick_kimg=0.008, sample_every_kimg=1.0,
    checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=1.0,
)


def write_video_folder(root: Path, n: int = 6, frames: int = 12, size: int = 16, seed: int = 0) -> Path:
    """n colour GIFs: a white 4 x 4 square moving one pixel a frame diagonally over a static random colour
    gradient; `frames` frames each, so clips of 4 cut 3 per video."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0.0, 1.0, size)[None, :, None]
    for v in range(n):
        a, b = rng.integers(40, 200, (2, 3))
        background = np.broadcast_to(a + (b - a) * ramp, (size, size, 3)).astype(np.uint8)
        y, x = rng.integers(0, size - 4, 2)
        clip = np.repeat(background[None], frames, axis=0)
        for t in range(frames):
            yy, xx = (y + t) % (size - 4), (x + t) % (size - 4)
            clip[t, yy : yy + 4, xx : xx + 4] = 255
        save_animation(clip, root / f"{v:02d}.gif")
    return root


@pytest.fixture(scope="session")
def video_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny trained video run (10 steps) on a GIF folder, shared by pipeline, sample and eval tests."""
    import ganforge

    root = tmp_path_factory.mktemp("video-run")
    clips = write_video_folder(root / "clips")
    ganforge.train(data=str(clips), kimg=0.04, out=str(root), name="vgan", **TINY_VIDEO)
    return {"run": root / "vgan", "data": clips}
