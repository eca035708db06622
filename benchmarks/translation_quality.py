"""Translation quality on the held-out test split: pix2pix or CycleGAN against the identity baseline.

Trains TASK (pix2pix or cyclegan) on DATA with a fixed seed, then evaluates it on the test split with
`ganforge.tasks.translation.evaluate.evaluate_translation`, the function `ganforge eval RUN` calls: L1, PSNR,
SSIM (paired data), KID/FID against the targets or the target domain, cycle L1 (CycleGAN), each next to
the identity baseline (output = input). Prints one JSON row per evaluated direction (CycleGAN: both).

    .venv/bin/python benchmarks/translation_quality.py pix2pix emoji --resolution 64 --kimg 40 --grid 8
    .venv/bin/python benchmarks/translation_quality.py pix2pix edges:emoji --resolution 64 --kimg 40 --grid 8
    .venv/bin/python benchmarks/translation_quality.py cyclegan emoji --resolution 64 --kimg 20 --set n_blocks=6

`--grid N` writes input | output | target rows (CycleGAN on unpaired data: input | output | cycle
reconstruction) of the first N test images to a PNG beside the run (or --grid-out).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from report import machine, rounded

import ganforge
from ganforge.imaging import make_grid, save_image
from ganforge.tasks.translation.evaluate import evaluate_translation, load_test_split
from ganforge.tasks.translation.pipeline import match_channels

TASKS = ("pix2pix", "cyclegan")


def display(images: np.ndarray, num_labels: int | None = None) -> np.ndarray:
    """uint8 [N, H, W, C] as RGB tiles: label maps in the training grids' palette, grey repeated."""
    if num_labels is not None:
        from ganforge.tasks.translation.base import label_palette

        colours = np.round((label_palette(num_labels).numpy() + 1) * 127.5).astype(np.uint8)  # [L, 3]
        return colours[images[..., 0].astype(np.int64)]
    return np.stack([match_channels(im, 3) for im in images])


def comparison_grid(pipe, rows: int, direction: str = "AtoB", data: str | None = None) -> np.ndarray:
    """[H', W', 3]: the first `rows` test images as input | output | target (or | cycle) rows."""
    test = load_test_split(pipe, data=data, direction=direction)
    inputs = test["inputs"][:rows]
    outputs = pipe.translate_batch(inputs, direction)
    if test["paired"]:
        third = test["targets"][:rows]
    else:  # unpaired: no target for this input, show what the reverse generator makes of the output
        third = pipe.translate_batch(outputs, "BtoA" if direction == "AtoB" else "AtoB")
    labels = pipe.num_labels if direction == "AtoB" else None
    tiles = np.stack([display(inputs, labels), display(outputs), display(third)], axis=1)  # [rows, 3, H, W, 3]
    return make_grid(tiles.reshape(-1, *tiles.shape[2:]), nrow=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("data", help="paired data (pix2pix) or two domains (cyclegan), as `ganforge train --data`")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--kimg", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=None, help="cap on test images [default: the whole test split]")
    parser.add_argument("--directions", nargs="+", default=None,
                        help="directions to evaluate [default: AtoB; cyclegan AtoB BtoA]")
    parser.add_argument("--grid", type=int, default=0, metavar="N", help="write N test rows to a PNG")
    parser.add_argument("--grid-out", default=None, help="PNG path [default: OUT/NAME-test-grid.png]")
    parser.add_argument("--out", default="bench-runs")
    parser.add_argument("--name", default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other TrainConfig fields (JSON values)")
    args = parser.parse_args()

    name = args.name or f"{args.task}-{args.data.replace(':', '-').replace('/', '_')}-{args.resolution}"
    out = Path(args.out)
    run_dir = out / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    settings = dict(task=args.task, data=args.data, resolution=args.resolution, seed=args.seed, out=str(out),
                    name=name, kimg=args.kimg, checkpoint_every_kimg=args.kimg, keep_checkpoints=1)
    settings.update(extra)  # --set may override the checkpoint defaults above, e.g. to evaluate a run over time
    result = ganforge.train(**settings)
    images = int(round(result.kimg * 1000))
    pipe = ganforge.load(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    rows = []
    for direction in args.directions or (["AtoB", "BtoA"] if args.task == "cyclegan" else ["AtoB"]):
        started = time.perf_counter()
        metrics = evaluate_translation(pipe, direction=direction, n=args.n)
        row = {"task": args.task, "generator": config["model"], "residual": config.get("residual"), "upsample": config.get("upsample"), "data": args.data, "resolution": args.resolution,
               "kimg": result.kimg, "seed": args.seed, "train_sec": round(result.wall_sec, 1),
               "images_per_sec": round(images / result.wall_sec, 1), "eval_sec": round(time.perf_counter() - started, 1),
               **rounded(metrics)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.grid:
        path = Path(args.grid_out or out / f"{name}-test-grid.png")
        save_image(comparison_grid(pipe, args.grid), path)
        third = "target" if rows[0]["paired"] else "cycle reconstruction"
        print(json.dumps({"grid": str(path), "rows": args.grid, "columns": f"input | output | {third}"}), flush=True)
    print(json.dumps({"run_dir": str(run_dir), "command": " ".join(sys.argv), "machine": machine(), "config": {k: config[k] for k in (
        "task", "model", "loss", "width", "batch", "lr_g", "lr_d", "l1_weight", "cycle_weight", "identity_weight",
        "direction", "residual", "upsample", "precision") if k in config}}), flush=True)


if __name__ == "__main__":
    main()
