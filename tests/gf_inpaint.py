"""Shared set-up of the inpaint tests: a small folder of smooth colour images and one tiny trained run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

# Tiny inpaint runs: 16 px, width 4, a handful of steps.
TINY_INPAINT: dict[str, Any] = dict(
    task="inpaint", resolution=16, batch=4, width=4, d_layers=2, n_blocks=1, tick_kimg=0.008,
    sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0,
)


def write_image_folder(root: Path, n: int = 20, size: int = 20, seed: int = 0, coarse: int = 4) -> Path:
    """n smooth random RGB images (bilinear blow-ups of coarse x coarse noise): easy to fill, quick to learn."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        noise = rng.integers(0, 256, (coarse, coarse, 3), dtype=np.uint8)
        Image.fromarray(noise).resize((size, size), Image.BILINEAR).save(root / f"{i:03d}.png")
    return root


@pytest.fixture(scope="session")
def inpaint_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny trained inpaint run (a few steps) and its image folder, shared by pipeline, CLI and eval tests."""
    import ganforge

    root = tmp_path_factory.mktemp("inpaint-run")
    images = write_image_folder(root / "images")
    ganforge.train(data=str(images), kimg=0.016, out=str(root), name="run", **TINY_INPAINT)
    return {"run": root / "run", "images": images}
