"""bf16 against fp32 on one training step of every network family: what `--precision auto` checks at a run's
start, here at the models' own widths on synthetic batches, with and without the CPU's fp32 pin on 3D layers.

    .venv/bin/python benchmarks/precision_check.py --batch 8

Prints one JSON line per family (the worst relative error of any kernel's weight gradient, per optimizer step) and a
summary; run by hand, recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine  # noqa: E402

import ganforge.tasks  # noqa: E402, F401  (registers tasks and models)
from ganforge.config import TrainConfig  # noqa: E402
from ganforge.engine.precision import PROBE_TOLERANCE, attach_standalone_runtime, compare_step_gradients  # noqa: E402
from ganforge.registry import TASKS  # noqa: E402
from ganforge.tasks.base import DataInfo  # noqa: E402

# (name, TrainConfig fields, DataInfo fields, batch key and item shape); widths are the models' defaults.
FAMILIES: list[tuple[str, dict[str, Any], dict[str, Any], str, tuple[int, ...]]] = [
    ("dcgan", dict(task="image", model="dcgan", resolution=32), dict(channels=3), "image", (3, 32, 32)),
    ("stylegan2", dict(task="image", model="stylegan2", resolution=32), dict(channels=3), "image", (3, 32, 32)),
    ("r3gan", dict(task="image", model="r3gan", resolution=32), dict(channels=3), "image", (3, 32, 32)),
    ("pix2pix-unet", dict(task="pix2pix", model="unet", resolution=64), dict(channels=3, in_channels=3), "AB", (3, 64, 64)),
    ("cyclegan-resnet", dict(task="cyclegan", model="resnet", resolution=64), dict(channels=3, in_channels=3), "AB",
     (3, 64, 64)),
    ("inpaint-lama", dict(task="inpaint", model="lama", resolution=32), dict(channels=3), "image", (3, 32, 32)),
    ("superres-srresnet", dict(task="superres", model="srresnet", resolution=64, pretrain_kimg=0.0), dict(channels=3), "hr",
     (3, 64, 64)),
    ("nextframe-simvp", dict(task="nextframe", model="simvp", resolution=64, frames=20, context_frames=10,
                             pretrain_kimg=0.0), dict(channels=1, frames=20), "clip", (20, 1, 64, 64)),
    ("video-vgan", dict(task="video", model="vgan", resolution=64, frames=16), dict(channels=3, frames=16), "clip",
     (16, 3, 64, 64)),
    ("video-vgan-resize-32", dict(task="video", model="vgan", resolution=32, frames=16, upsample="resize"),
     dict(channels=3, frames=16), "clip", (16, 3, 32, 32)),
]


def check(fields: dict[str, Any], info: dict[str, Any], key: str, shape: tuple[int, ...], batch: int, pin: bool) -> dict:
    torch.manual_seed(0)
    cfg = TrainConfig(**dict(fields, data="digits", batch=batch)).validate().for_dataset(1000)
    task = TASKS.get(cfg.task)(cfg, DataInfo(name="synthetic", resolution=cfg.resolution, count=1000, **info))
    policy = attach_standalone_runtime(task, "bf16", pin)
    data = {k: torch.rand(batch, *shape) * 2 - 1 for k in (("A", "B") if key == "AB" else (key,))}
    started = time.perf_counter()
    result = compare_step_gradients(task, data, step=0)
    return {"errors": {k: round(v, 4) for k, v in result.errors.items()}, "agrees": result.agrees,
            "networks": policy.networks if pin else "unpinned", "sec": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8, help="items per synthetic batch")
    parser.add_argument("--only", nargs="*", default=None, help="family names to run [default: all]")
    args = parser.parse_args()
    rows = []
    for name, fields, info, key, shape in FAMILIES:
        if args.only and name not in args.only:
            continue
        for pin in ([True, False] if fields["task"] in ("nextframe", "video") else [True]):
            row = {"family": name, "pinned": pin, **check(fields, info, key, shape, args.batch, pin)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps({"tolerance": PROBE_TOLERANCE, "batch": args.batch, "all_agree": all(r["agrees"] for r in rows),
                      "worst": max(max(r["errors"].values()) for r in rows), "command": " ".join(sys.argv),
                      "machine": machine(), "date": time.strftime("%Y-%m-%d")}))


if __name__ == "__main__":
    main()
