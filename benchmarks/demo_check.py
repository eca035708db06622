"""Issue 27's demo bars: `ganforge demo` on this CPU, timed, then its two runs measured.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/demo_check.py [--runs-dir /tmp/demo-check] [--minutes 5] [--n 1000]

Runs the demo as a user does (a subprocess, its wall time measured from start to exit, data already fetched), then
labels 2,000 samples of the mnist run's generator with `digit_coverage.py`'s classifier (the bar: all ten digits)
and measures FID/KID of the emoji run's generator against the emoji set at --n (the bar: FID at most 120 at
n = 1,000). Prints one JSON line with both, the wall time (the bar: 6 minutes) and the machine.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from digit_coverage import coverage, generated, real_digits, trained_classifier
from report import machine

import ganforge
from ganforge.data import resolve_dataset
from ganforge.metrics import compute_metrics

HERE = Path(__file__).resolve().parent


def run_demo(runs_dir: Path, minutes: float) -> tuple[float, str]:
    """The demo's wall seconds and its standard output."""
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "ganforge"), "demo", "--runs-dir", str(runs_dir),
                           "--minutes", str(minutes)], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"ganforge demo failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return seconds, done.stdout


def run_of(stdout: str, data: str) -> Path:
    """The run folder the demo names for `data` (its `samples:` line under that data set)."""
    found = re.search(rf"^{data}: .*?\n\s+samples:\s+(\S+)", stdout, flags=re.M)
    if found is None:
        raise SystemExit(f"the demo printed no {data} run:\n{stdout}")
    return Path(found.group(1)).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("/tmp/demo-check"))
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--n", type=int, default=1000, help="generated emoji for FID")
    args = parser.parse_args()
    shutil.rmtree(args.runs_dir, ignore_errors=True)
    seconds, stdout = run_demo(args.runs_dir, args.minutes)
    mnist_run, emoji_run = run_of(stdout, "mnist"), run_of(stdout, "emoji")

    images, labels = real_digits()
    net, accuracy = trained_classifier(images, labels)
    fake, _ = generated(mnist_run, 2000, "G_ema")
    with torch.no_grad():
        digits = coverage(net, fake)

    real = resolve_dataset("emoji", 32)
    emoji = compute_metrics(real.images, ganforge.load(emoji_run), n=args.n)
    config = json.loads((emoji_run / "config.json").read_text())
    print(json.dumps({
        "demo_wall_sec": round(seconds, 1), "minutes": args.minutes, "demo_stdout": stdout.strip().splitlines(),
        "mnist": {"run": str(mnist_run), "classifier_accuracy": accuracy, "coverage": digits},
        "emoji": {"run": str(emoji_run), "init": config.get("init"),
                  "metrics": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in emoji.items()}},
        "machine": machine(),
    }), flush=True)


if __name__ == "__main__":
    main()
