"""Class-conditional generation respects the class: on two classes told apart by brightness alone,
samples asked for the bright class come out brighter (StyleGAN2's label enters the mapping network,
R3GAN's is concatenated to z; both discriminators project onto a label embedding)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ganforge
from ganforge.cli.main import main
from ganforge.imaging import save_image
from ganforge.tasks.image.cli import conditional_grid


@pytest.fixture(scope="module")
def dark_and_bright(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-classes")
    rng = np.random.default_rng(0)
    for cls, level in (("dark", 40), ("bright", 215)):
        for i in range(64):
            img = np.clip(rng.normal(level, 20, (16, 16, 1)), 0, 255).astype(np.uint8)
            save_image(img, root / cls / f"{i}.png")
    return root


@pytest.mark.parametrize(
    "model, settings",
    [
        ("stylegan2", dict(width=4, z_dim=16)),
        ("r3gan", dict(width=4, z_dim=16, lr_g=2e-3, lr_d=2e-3)),
    ],
)
def test_conditional_samples_follow_the_class(tmp_path, dark_and_bright, model, settings):
    result = ganforge.train(
        task="image", model=model, data=str(dark_and_bright), resolution=16, batch=32, cond=True, kimg=1,
        augment="none", ema_kimg=0.5, out=str(tmp_path), name=model, **settings,
    )
    pipe = ganforge.load(result.run_dir)
    names = pipe.class_names
    seeds = list(range(16))
    bright = pipe(seeds=seeds, class_label=names.index("bright"), output_type="np").astype(float).mean()
    dark = pipe(seeds=seeds, class_label=names.index("dark"), output_type="np").astype(float).mean()
    assert bright > dark + 40, (model, bright, dark)

    # `ganforge sample` without --class gives one row per class: here "bright" over "dark".
    grid_path = tmp_path / "grid.png"
    assert main(["sample", str(result.run_dir), "--n", "8", "--nrow", "4", "--out", str(grid_path)]) == 0
    grid = np.asarray(Image.open(grid_path).convert("L"), dtype=float)
    half = grid.shape[0] // 2
    assert grid[2:half - 1, 2:-2].mean() > grid[half + 1:-2, 2:-2].mean() + 30, model


def test_grid_rows_walk_the_classes():
    assert conditional_grid(7, 3, 2) == ([0, 0, 0, 1, 1, 1, 0], 3)
    labels, per_row = conditional_grid(64, None, 10)  # the default --n 64: every class gets a row
    assert per_row == 7 and sorted(set(labels)) == list(range(10)) and labels[:8] == [0] * 7 + [1]
    assert conditional_grid(4, 4, 10) == ([0, 1, 2, 3], 4)  # one row for ten classes: cycle per image
