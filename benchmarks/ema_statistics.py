"""The EMA generator's batch-norm statistics: standing statistics (what the trainer now saves) against the
training network's live statistics copied into the averaged weights (what it saved before), on one checkpoint.

    .venv/bin/python benchmarks/ema_statistics.py runs/image-dcgan-emoji-32 --n 1000

Prints one JSON line per variant and a summary; run by hand, recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine  # noqa: E402

import ganforge  # noqa: E402
from ganforge.config import TrainConfig  # noqa: E402
from ganforge.data import resolve_dataset  # noqa: E402
from ganforge.engine.checkpoint import latest_checkpoint, load_checkpoint  # noqa: E402
from ganforge.engine.ema import batch_norms  # noqa: E402
from ganforge.metrics import compute_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run directory whose generator has batch norm (dcgan, vgan, lama)")
    parser.add_argument("--n", type=int, default=1000, help="generated and real images for FID/KID")
    args = parser.parse_args()

    ckpt = latest_checkpoint(args.run)
    weights, state = load_checkpoint(ckpt)
    cfg = TrainConfig.load(args.run / "config.json")
    real = resolve_dataset(cfg.data, cfg.resolution)
    pipe = ganforge.load(ckpt)
    generator = pipe.components["generator"]
    if not batch_norms(generator):
        sys.exit(f"error: the generator of {args.run} has no batch norm: nothing to compare")
    live = {k: v for k, v in weights["G"].items() if "running_" in k or "num_batches" in k}
    standing = {k: v.clone() for k, v in generator.state_dict().items() if k in live}
    rows = {}
    for name, buffers in (("standing", standing), ("live_copy", live)):
        generator.load_state_dict(buffers, strict=False)
        started = time.perf_counter()
        result = compute_metrics(real.images, pipe, n=args.n)
        rows[name] = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in result.items()}
        rows[name]["eval_sec"] = round(time.perf_counter() - started, 1)
        print(json.dumps({"variant": name, **rows[name]}), flush=True)
    diff = max(float((standing[k].float() - live[k].float()).abs().max()) for k in live if "running_" in k)
    print(json.dumps({"run": str(args.run), "checkpoint": ckpt.name, "kimg": state["kimg"], "n": args.n,
                      "max_buffer_difference": round(diff, 5), "variants": rows,
                      "command": " ".join(sys.argv), "machine": machine(), "date": time.strftime("%Y-%m-%d")}))


if __name__ == "__main__":
    with torch.inference_mode():
        main()
