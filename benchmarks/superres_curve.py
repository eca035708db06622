"""Super-resolution learning curve: held-out PSNR of a pixel-loss (L1) run at each checkpoint, next to bicubic.

Trains one pixel-loss run (`--adv-weight 0`) with a checkpoint every `--every` kimg, then scores each checkpoint
on the held-out images with the PSNR/SSIM on Y that `ganforge eval` reports (no Inception: seconds per point).
Prints one JSON row per checkpoint. Used to choose superres's default batch: compare `--set batch=16` with
`--set batch=64` at the same kimg.

    .venv/bin/python benchmarks/superres_curve.py photos --kimg 12 --every 2 --set batch=16
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from report import machine, rounded, tick_rate
from superres_quality import add_model_arguments, train

import ganforge
from ganforge.tasks.superres.evaluate import bicubic_upscale, load_sr_test, sr_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--kimg", type=float, default=12.0)
    parser.add_argument("--every", type=float, default=2.0, help="kimg between scored checkpoints")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-runs")
    parser.add_argument("--name", default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other TrainConfig fields (JSON values)")
    args = parser.parse_args()

    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    name = args.name or f"superres-curve-x{args.scale}-{args.data.replace(':', '-').replace('/', '_')}-{args.resolution}"
    settings = dict(task="superres", model=args.model, data=args.data, resolution=args.resolution, scale=args.scale,
                    seed=args.seed, out=args.out, **extra)
    started = time.perf_counter()
    _, run_dir = train(settings, name, Path(args.out), kimg=args.kimg, adv_weight=0.0,
                       checkpoint_every_kimg=args.every, keep_checkpoints=10_000)
    config = json.loads((run_dir / "config.json").read_text())
    print(json.dumps({"command": " ".join(sys.argv), "machine": machine(), "train_sec": round(time.perf_counter() - started, 1),
                      "images_per_sec": tick_rate(run_dir), "batch": config["batch"], "lr_g": config["lr_g"]}),
          flush=True)
    bicubic = None
    for checkpoint in sorted(p for p in (run_dir / "checkpoints").iterdir() if p.is_dir()):
        pipe = ganforge.load(checkpoint)
        test = load_sr_test(pipe)
        if bicubic is None:
            bicubic = sr_scores(bicubic_upscale(test["low"], pipe.scale), test["high"], pipe.scale)
        model = sr_scores(pipe.upscale_batch(test["low"]), test["high"], pipe.scale)
        print(json.dumps(rounded({"checkpoint": checkpoint.name, "n": len(test["high"]), "model": model,
                                  "bicubic": bicubic, "psnr_gain_db": model["psnr_y"] - bicubic["psnr_y"]})),
              flush=True)


if __name__ == "__main__":
    main()
