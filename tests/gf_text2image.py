"""Shared by the text2image tests: tiny settings and a folder of captioned colour squares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

TINY = dict(task="text2image", resolution=16, batch=4, width=4, z_dim=8, tick_kimg=0.008, sample_every_kimg=1.0,
            checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0, seed=0)
COLOURS = {"a red square": (220, 30, 30), "a green square": (30, 200, 40), "a blue square": (30, 40, 220),
           "a yellow square": (230, 220, 30)}


def write_colour_folder(root: Path, per_colour: int = 5) -> Path:
    """Flat squares of four colours, each captioned with its colour in a .txt beside it."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for c, (caption, rgb) in enumerate(COLOURS.items()):
        for i in range(per_colour):
            image = np.full((20, 20, 3), 255, np.uint8)
            x, y = rng.integers(0, 8, 2)
            image[y : y + 12, x : x + 12] = rgb
            Image.fromarray(image).save(root / f"{c}-{i}.png")
            (root / f"{c}-{i}.txt").write_text(f"{caption}\n{caption.replace('a ', 'one ', 1)}\n")
    return root
