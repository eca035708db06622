"""PyTorch eager against ONNX Runtime on this CPU, through the same pipelines (issue 33); prints JSON.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/onnx_inference.py --work /tmp/onnx-bench --repeats 5

- a 64-image grid from the shipped emoji generator (zoo:emoji-32, DCGAN): images/s;
- a x4 upscale of a 256 x 256 image (the superres task's default SRResNet), output megapixels/s;
- an inpaint of a 256 x 256 image with a quarter of it masked (the inpaint task's default LaMa-style FFC network);
- 10 frames predicted from 10 observed 64-px frames (the nextframe task's default SimVP).
The last three are the studio benchmark's one-step runs at the tasks' default architectures (speed does not depend on
training; `benchmarks/studio_latency.py`'s `train_runs`). Each model is exported with `--format both` into --work,
then timed alternately in PyTorch and ONNX Runtime after one warm-up call each, unwatermarked (the watermark is the
same code either way); medians of --repeats.
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
from studio_latency import moving_square, smooth, train_runs  # noqa: E402  (its one-step runs at the defaults)

import ganforge  # noqa: E402
from ganforge.cli.main import main as cli  # noqa: E402


def export(model: str | Path, out: Path) -> Path:
    """`ganforge export MODEL --out OUT --format both`, once; its line goes to stderr (stdout is the JSON)."""
    import contextlib

    if not (out / "config.json").is_file():
        with contextlib.redirect_stdout(sys.stderr):
            if cli(["export", str(model), "--out", str(out), "--format", "both"]) != 0:
                raise SystemExit(f"export of {model} failed")
    return out


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
    runs = train_runs(args.work)
    image = smooth(256, 0)
    upscaler = export(runs["superres"], args.work / "superres-export")
    scale = ganforge.load(upscaler).scale
    rows.append(compare(f"x{scale} upscale of 256 x 256 (superres defaults)", upscaler,
                        lambda p: p([image], output_type="np", watermark=False), (256 * scale) ** 2 / 1e6,
                        "output megapixels", args.repeats))
    inpainter = export(runs["inpaint"], args.work / "inpaint-export")
    mask = np.zeros((256, 256), dtype=bool)
    mask[64:192, 64:192] = True
    rows.append(compare("inpaint 256 x 256, a quarter masked (inpaint defaults)", inpainter,
                        lambda p: p([image], mask=[mask], output_type="np", watermark=False), 256 * 256 / 1e6,
                        "megapixels", args.repeats))
    predictor = export(runs["nextframe"], args.work / "nextframe-export")
    clip = moving_square(10, 64, 0)
    rows.append(compare("10 frames predicted from 10 of 64 px (nextframe defaults)", predictor,
                        lambda p: p([clip], frames=10, output_type="np", watermark=False), 10, "frames", args.repeats))
    import onnxruntime

    print(json.dumps({"benchmark": "onnx_inference", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
                      "command": " ".join(sys.argv), "torch_threads": torch.get_num_threads(),
                      "onnxruntime": onnxruntime.__version__, "providers": onnxruntime.get_available_providers(),
                      "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
