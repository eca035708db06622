"""PyTorch eager against ONNX Runtime on this CPU, through the same pipelines (issue 33); prints JSON.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/onnx_inference.py --work /tmp/onnx-bench --repeats 5

- a 64-image grid from the shipped emoji generator (zoo:emoji-32, DCGAN): images/s;
- a x4 upscale of a 256 x 256 image by the superres task's default network (SRResNet, width 64, 16 blocks; a
  one-step run: speed does not depend on training): output megapixels/s.
Each model is exported with `--format both` into --work, then timed alternately in PyTorch and ONNX Runtime after one
warm-up call each, unwatermarked (the watermark is the same code either way); medians of --repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import machine  # noqa: E402

import ganforge  # noqa: E402
from ganforge.cli.main import main as cli  # noqa: E402


def export(model: str | Path, out: Path) -> Path:
    if not (out / "config.json").is_file():
        if cli(["export", str(model), "--out", str(out), "--format", "both"]) != 0:
            raise SystemExit(f"export of {model} failed")
    return out


def superres_run(work: Path) -> Path:
    """A one-step x4 superres run at the task's default architecture, on a few random images."""
    from PIL import Image

    run = work / "runs" / "superres-x4"
    if (run / "checkpoints").is_dir():
        return run
    data = work / "sr-data"
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(data / f"{i}.png")
    ganforge.train(task="superres", data=str(data), resolution=64, scale=4, batch=2, kimg=0.002,
                   out=str(work / "runs"), name="superres-x4", tick_kimg=0.002, checkpoint_every_kimg=0.002,
                   sample_every_kimg=1.0, grid_size=1)
    return run


def timed(fn: Any, repeats: int) -> list[float]:
    fn()  # warm-up: first-call allocations, ONNX Runtime's graph set-up
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def compare(name: str, folder: Path, call: Any, work_per_call: float, unit: str, repeats: int) -> dict[str, Any]:
    torch_pipe, onnx_pipe = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    seconds = {"torch": [], "onnx": []}
    for _ in range(repeats):  # alternate, so drifts in the machine's load hit both alike
        seconds["torch"] += timed(lambda: call(torch_pipe), 1)
        seconds["onnx"] += timed(lambda: call(onnx_pipe), 1)
    medians = {k: statistics.median(v) for k, v in seconds.items()}
    return {"case": name, "unit": unit, "torch_per_sec": round(work_per_call / medians["torch"], 3),
            "onnx_per_sec": round(work_per_call / medians["onnx"], 3),
            "onnx_speedup": round(medians["torch"] / medians["onnx"], 3),
            "seconds": {k: [round(x, 4) for x in v] for k, v in seconds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/onnx-bench"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import torch

    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    emoji = export("zoo:emoji-32", args.work / "emoji-32")
    rows.append(compare("64-image grid, zoo:emoji-32 (DCGAN, 32 px)", emoji,
                        lambda p: p(n=64, seed=0, output_type="np", watermark=False), 64, "images", args.repeats))
    upscaler = export(superres_run(args.work), args.work / "superres-x4")
    image = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    rows.append(compare("x4 upscale of 256 x 256 (SRResNet, width 64, 16 blocks)", upscaler,
                        lambda p: p([image], output_type="np", watermark=False), 1024 * 1024 / 1e6,
                        "output megapixels", args.repeats))
    import onnxruntime

    print(json.dumps({"benchmark": "onnx_inference", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
                      "command": " ".join(sys.argv), "torch_threads": torch.get_num_threads(),
                      "onnxruntime": onnxruntime.__version__, "providers": onnxruntime.get_available_providers(),
                      "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
