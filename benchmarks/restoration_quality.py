"""Restoration quality on the held-out split: `inpaint` trains an inpaint model and compares it bucket by
bucket with biharmonic inpainting.

    .venv/bin/python benchmarks/restoration_quality.py inpaint emoji --resolution 32 --kimg 20 --grid 8
    .venv/bin/python benchmarks/restoration_quality.py inpaint photos --resolution 32 --kimg 20 --grid 8

`inpaint DATA` trains `ganforge train inpaint` on DATA with a fixed seed, then calls
`ganforge.tasks.inpaint.evaluate.evaluate_inpainting` (what `ganforge eval RUN` calls): the held-out split, the
fixed test masks of each hole-area bucket, L1/PSNR/SSIM over the image and inside the hole and KID, for
the model and for scikit-image's biharmonic inpainting. Prints one JSON row per bucket, then the run.
`--grid N` writes input | mask | output | truth rows of the first N test images (row i uses bucket i mod 4's
masks) to a PNG beside the run (or --grid-out). Each restoration task is one sub-command (SUBCOMMANDS).
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


def train_run(args: argparse.Namespace, task: str) -> tuple[Path, object, dict]:
    """Train TASK on args.data with a fixed seed into a fresh run directory; (run_dir, result, config)."""
    name = args.name or f"{task}-{args.data.replace(':', '-').replace('/', '_')}-{args.resolution}"
    out = Path(args.out)
    run_dir = out / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    settings = dict(task=task, data=args.data, resolution=args.resolution, seed=args.seed, out=str(out), name=name,
                    kimg=args.kimg, checkpoint_every_kimg=args.kimg, keep_checkpoints=1, **extra)
    result = ganforge.train(**settings)
    return run_dir, result, json.loads((run_dir / "config.json").read_text())


def inpaint_grid(pipe, rows: int, per_bucket: int | None = None, seed: int = 0) -> np.ndarray:
    """[H', W', 3]: input (hole grey) | mask | output | truth for the first `rows` test images."""
    from ganforge.data.masks import BUCKETS, fixed_test_masks
    from ganforge.tasks.inpaint.evaluate import MAX_MASKS_PER_BUCKET, load_inpaint_test
    from ganforge.tasks.translation.pipeline import match_channels

    _, truth = load_inpaint_test(pipe)
    count = len(truth)
    per_bucket = per_bucket or min(count, MAX_MASKS_PER_BUCKET)
    bank = fixed_test_masks(pipe.resolution, per_bucket, seed)
    truth = truth[:rows]
    masks = np.stack([bank[BUCKETS[i % len(BUCKETS)]][i % per_bucket] for i in range(len(truth))])
    filled = pipe.inpaint_batch(truth, masks)
    holed = np.where(masks[..., None], 128, truth).astype(np.uint8)
    shown = np.repeat(np.where(masks, 255, 0).astype(np.uint8)[..., None], truth.shape[3], axis=3)
    tiles = [np.stack([match_channels(im, 3) for im in x]) for x in (holed, shown, filled, truth)]
    grid = np.stack(tiles, axis=1)  # [rows, 4, H, W, 3]
    return make_grid(grid.reshape(-1, *grid.shape[2:]), nrow=4)


def inpaint_main(args: argparse.Namespace) -> None:
    from ganforge.tasks.inpaint.evaluate import evaluate_inpainting

    run_dir, result, config = train_run(args, "inpaint")
    images = int(round(result.kimg * 1000))
    pipe = ganforge.load(run_dir)
    started = time.perf_counter()
    metrics = evaluate_inpainting(pipe, n=args.n, per_bucket=args.per_bucket, inception=args.inception)
    eval_sec = round(time.perf_counter() - started, 1)
    common = {"task": "inpaint", "generator": config["model"], "data": args.data, "resolution": args.resolution,
              "kimg": result.kimg, "seed": args.seed, "train_sec": round(result.wall_sec, 1),
              "images_per_sec": round(images / result.wall_sec, 1), "eval_sec": eval_sec,
              **{k: metrics[k] for k in ("split", "n", "masks_per_bucket", "mask_seed", "extractor", "kid_subset")}}
    for row in metrics["buckets"]:
        print(json.dumps({**common, **rounded(row)}), flush=True)
    if args.grid:
        path = Path(args.grid_out or Path(args.out) / f"{run_dir.name}-test-grid.png")
        save_image(inpaint_grid(pipe, args.grid, args.per_bucket), path)
        print(json.dumps({"grid": str(path), "rows": args.grid, "columns": "input | mask | output | truth"}), flush=True)
    print(json.dumps({"run_dir": str(run_dir), "command": " ".join(sys.argv), "machine": machine(), "config": {k: config[k] for k in (
        "task", "model", "loss", "width", "batch", "n_blocks", "lr_g", "lr_d", "l1_weight", "hole_weight",
        "fm_weight", "d_layers", "precision") if k in config}}), flush=True)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="training data, as `ganforge train --data` (folder, emoji, photos, ...)")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--kimg", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=None, help="cap on test images [default: the whole held-out split]")
    parser.add_argument("--inception", default=None, help="TF-Inception TorchScript file [default: as ganforge eval]")
    parser.add_argument("--grid", type=int, default=0, metavar="N", help="write N test rows to a PNG")
    parser.add_argument("--grid-out", default=None, help="PNG path [default: OUT/NAME-test-grid.png]")
    parser.add_argument("--out", default="bench-runs")
    parser.add_argument("--name", default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other TrainConfig fields (JSON values)")


def inpaint_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inpaint", help="inpainting: the model against biharmonic inpainting, bucket by bucket")
    add_common(p)
    p.add_argument("--per-bucket", type=int, default=None, help="fixed masks per bucket [default: min(n, 200)]")
    p.set_defaults(run=inpaint_main)


SUBCOMMANDS = [inpaint_parser]  # each adds one sub-command (a restoration task) with its `run`


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="task", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
