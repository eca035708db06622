"""Shared by the superres tests: a folder of smooth colour images and tiny training settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Tiny superres runs: 16 px crops of 32 px sources, x2, width 8, two blocks, a handful of steps.
TINY_SR: dict[str, Any] = dict(
    task="superres", resolution=16, scale=2, batch=4, width=8, n_blocks=2, d_layers=1, tick_kimg=0.008,
    sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0,
)


def write_sr_folder(root: Path, n: int = 20, size: int = 40, seed: int = 0) -> Path:
    """n smooth random colour images (bicubically enlarged noise): texture a small network learns to upscale."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        small = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
        Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC).save(root / f"img{i:03d}.png")
    return root
