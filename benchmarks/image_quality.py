"""Image-generation quality over a training run: FID, KID, precision, recall, images/s and wall time.

Trains MODEL on DATA with a fixed seed, stopping at each --eval-kimg point (resume is exact, so
the stops do not change the run) to evaluate the EMA generator against the real images.

    .venv/bin/python benchmarks/image_quality.py stylegan2 emoji --kimg 100
    .venv/bin/python benchmarks/image_quality.py stylegan2 emoji --kimg 100 --subset 500 --augment ada

The final point uses as many generated images as real ones (at most 10k; --n); earlier points
use --n-mid images, so their figures carry a smaller n in their names. With --subset, training
uses a seeded subset of the data while the metrics compare against the full data set.
Prints one JSON object per evaluation point and a summary object at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from report import machine

import ganforge
from ganforge.data import resolve_dataset
from ganforge.imaging import save_image
from ganforge.metrics import compute_metrics


def write_subset(images: np.ndarray, labels: np.ndarray | None, class_names: list[str], count: int, seed: int,
                 folder: Path) -> Path:
    """A seeded subset of the data as an image folder (class subfolders when labelled)."""
    if folder.exists():
        shutil.rmtree(folder)
    pick = np.random.default_rng(seed).choice(len(images), size=count, replace=False)
    for i in pick:
        sub = folder / (class_names[labels[i]] if labels is not None and class_names else "")
        sub.mkdir(parents=True, exist_ok=True)
        save_image(images[i], sub / f"{i:06d}.png")
    return folder


def logged_train_seconds(metrics_log: Path) -> float:
    """Training seconds of the segments already in a run's log: time_sec restarts at 0 in each process."""
    total, last = 0.0, 0.0
    for line in metrics_log.read_text().splitlines() if metrics_log.exists() else []:
        t = json.loads(line).get("time_sec")
        if t is None:
            continue
        if t < last:
            total += last
        last = t
    return total + last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--kimg", type=float, default=100.0)
    parser.add_argument("--eval-kimg", type=float, nargs="+", default=None, help="evaluation points [default: K/4, K/2, K]")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--n", type=int, default=None, help="generated images at the final point [default: min(real, 10k)]")
    parser.add_argument("--n-mid", type=int, default=1000, help="generated images at earlier points")
    parser.add_argument("--subset", type=int, default=None, help="train on this many images (seeded)")
    parser.add_argument("--augment", default=None)
    parser.add_argument("--cond", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-runs")
    parser.add_argument("--name", default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other TrainConfig fields (JSON values)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run of the same name from its last checkpoint (exact; "
                             "evaluation points it had passed are not repeated)")
    args = parser.parse_args()

    real = resolve_dataset(args.data, args.resolution)
    data = args.data
    name = args.name or f"{args.model}-{Path(args.data).name}-{args.resolution}" + (f"-sub{args.subset}" if args.subset else "") \
        + (f"-{args.augment}" if args.augment else "") + ("-cond" if args.cond else "")
    out = Path(args.out)
    run_dir = out / name
    resuming = args.resume and any((run_dir / "checkpoints").glob("kimg-*"))
    if run_dir.exists() and not resuming:
        shutil.rmtree(run_dir)
    if args.subset and not resuming:
        folder = write_subset(real.images, real.labels if args.cond else None, list(real.class_names), args.subset,
                              args.seed, out / f"data-{name}")
        data = str(folder)
    elif args.subset:
        data = str(out / f"data-{name}")
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    # Checkpoints every 10 kimg (at most) so an interrupted run can go on with --resume; they do not change the run.
    settings = dict(task="image", model=args.model, data=data, resolution=args.resolution, seed=args.seed,
                    cond=args.cond, out=str(out), name=name, checkpoint_every_kimg=min(args.kimg, 10.0), keep_checkpoints=1,
                    **({"augment": args.augment} if args.augment else {}), **extra)
    points = sorted(args.eval_kimg or [args.kimg / 4, args.kimg / 2, args.kimg])
    n_final = args.n or min(len(real.images), 10_000)
    rows, train_sec, images = [], 0.0, 0
    if resuming:
        done = json.loads(sorted((run_dir / "checkpoints").glob("kimg-*/state.json"))[-1].read_text())["kimg"]
        points = [pt for pt in points if pt > done] or points[-1:]
        train_sec = logged_train_seconds(run_dir / "metrics.jsonl")
    for i, point in enumerate(points):
        if i == 0 and not resuming:
            result = ganforge.train(**settings, kimg=point)
        else:
            result = ganforge.train(resume=run_dir, kimg=point)
        train_sec += result.wall_sec
        images = int(round(result.kimg * 1000))
        pipe = ganforge.load(run_dir)
        n = n_final if point == points[-1] else min(args.n_mid, n_final)
        started = time.perf_counter()
        metrics = compute_metrics(real.images, pipe, n=n)
        row = {"kimg": result.kimg, "train_sec": round(train_sec, 1), "images_per_sec": round(images / train_sec, 1),
               "eval_sec": round(time.perf_counter() - started, 1),
               **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in metrics.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    config = json.loads((run_dir / "config.json").read_text())
    summary = {"resumed": resuming, "model": args.model, "data": args.data, "subset": args.subset, "resolution": args.resolution,
               "augment": config["augment"], "cond": args.cond, "seed": args.seed, "run_dir": str(run_dir),
               "points": rows, "command": " ".join(sys.argv), "machine": machine()}
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
