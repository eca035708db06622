"""Peak memory of `ganforge upscale` and `ganforge inpaint --outpaint` against the image size, and of `ganforge
sample --n N --out DIR/` against N (issue 25).

Trains a tiny superres model (x2) and a tiny inpaint model in a temp folder, writes square inputs of the given sizes
and one 4000 x 3000 image, then runs each command in its own process and reads that process's peak RSS (VmHWM
of /proc/self/status, read as it exits), next to the output's own uint8 size. Not `ru_maxrss`: Linux carries the
forking parent's peak into a child's across exec, and this parent holds torch and two trained models. A 64 px upscale is run first: its peak is the constant
(interpreter, torch, the model) that every other row should exceed by about its output's uint8 size and no more.
Prints one JSON object. `--src` runs the commands on another checkout's sources (e.g. the code before the
streaming engine) for a before/after table.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peak_memory.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peak_memory.py --sizes 1000 3000 --src /tmp/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from report import machine

# The tests' tiny settings (tests/superres_helpers.py, tests/gf_inpaint.py): seconds to train, real networks.
TINY_SR = dict(task="superres", resolution=16, scale=2, batch=4, width=8, n_blocks=2, d_layers=1, tick_kimg=0.008,
               sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0)
TINY_INPAINT = dict(task="inpaint", resolution=16, batch=4, width=4, d_layers=2, n_blocks=1, tick_kimg=0.008,
                    sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0)


def smooth_image(height: int, width: int, seed: int = 0) -> Image.Image:
    """A smooth random colour image (bicubically enlarged noise), built without a full-size float copy."""
    small = np.random.default_rng(seed).integers(0, 256, (max(2, height // 16), max(2, width // 16), 3), np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)


def train_models(root: Path) -> tuple[Path, Path]:
    import ganforge

    data = root / "train"
    data.mkdir(parents=True)
    for i in range(20):
        smooth_image(40, 40, seed=i).save(data / f"{i:03d}.png")
    ganforge.train(**TINY_SR, data=str(data), kimg=0.008, out=str(root), name="sr")
    ganforge.train(**TINY_INPAINT, data=str(data), kimg=0.016, out=str(root), name="inpaint")
    return root / "sr", root / "inpaint"


# Runs the CLI and, at exit, writes the peak RSS of this process's own memory (kB) to the file named by argv[1].
_WRAPPER = """
import atexit, sys
report = sys.argv.pop(1)
def write_peak():
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    open(report, "w").write(hwm.split()[1])
atexit.register(write_peak)
from ganforge.cli.main import entry
sys.argv[0] = "ganforge"
entry()
"""


def peak(args: list[str], src: str | None) -> dict[str, float]:
    """Run `ganforge ARGS` in its own process: its peak RSS in MiB and wall seconds (a failure stops the run)."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "peak"
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, str(report), *args], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode:
            sys.exit(f"ganforge {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return {"peak_rss_mb": int(report.read_text()) / 1024, "seconds": round(seconds, 1)}


def row(name: str, out_shape: tuple[int, int, int], measured: dict[str, float], base: float) -> dict:
    out_mb = float(np.prod(out_shape)) / 2**20
    rss = measured["peak_rss_mb"]
    return {"case": name, "output": f"{out_shape[1]}x{out_shape[0]}x{out_shape[2]}", "output_uint8_mb": round(out_mb, 1),
            "peak_rss_mb": round(rss, 1), "above_constant_mb": round(rss - base, 1),
            "above_constant_minus_output_mb": round(rss - base - out_mb, 1), "seconds": measured["seconds"]}


def sample_rows(work: Path, counts: list[int], src: str | None) -> list[dict]:
    """Peak RSS of `sample --n N --out DIR/` for each N: images are made and written a chunk at a time, so the
    peak should not grow with N (before streaming, every image was generated at once)."""
    import shutil

    import ganforge

    run = work / "dcgan"
    if not run.is_dir():
        ganforge.train(task="image", model="dcgan", data="digits", resolution=16, batch=16, width=4, z_dim=8,
                       kimg=0.032, tick_kimg=0.016, out=str(work), name="dcgan")
    rows = []
    for n in counts:
        out = work / f"samples-{n}"
        shutil.rmtree(out, ignore_errors=True)
        measured = peak(["sample", str(run), "--n", str(n), "--out", f"{out}/"], src)
        rows.append({"case": f"sample --n {n} into a folder (16 px grey)", "images_uint8_mb": round(n * 256 / 2**20, 1),
                     "peak_rss_mb": round(measured["peak_rss_mb"], 1), "seconds": measured["seconds"]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        shutil.rmtree(out)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 3000, 6000], help="square upscale inputs (px)")
    parser.add_argument("--tile", type=int, default=128, help="upscale --tile")
    parser.add_argument("--outpaint-size", default="4000x3000", help="W x H of the image to outpaint ('' to skip)")
    parser.add_argument("--borders", default="256,256,256,256", help="--outpaint L,T,R,B")
    parser.add_argument("--src", default=None, help="a ganforge src folder to run the commands on (before/after)")
    parser.add_argument("--sample-n", type=int, nargs="*", default=[1000, 100000],
                        help="sample --n into a folder (a tiny DCGAN at 16 px); the first is the constant")
    parser.add_argument("--work", default=None, help="folder for models, inputs and outputs (default: a temp one)")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="gf-peak-"))
    sr_run, inpaint_run = (work / "sr", work / "inpaint") if (work / "sr").is_dir() else train_models(work)
    rows = []
    smooth_image(64, 64).save(work / "in-64.png")
    (work / "out-64.png").unlink(missing_ok=True)
    base = peak(["upscale", str(sr_run), str(work / "in-64.png"), "--out", str(work / "out-64.png")],
                args.src)["peak_rss_mb"]
    rows.append({"case": "constant: upscale 64 px", "peak_rss_mb": round(base, 1)})
    for size in args.sizes:
        src, dst = work / f"in-{size}.png", work / f"out-{size}.png"
        if not src.exists():
            smooth_image(size, size, seed=size).save(src)
        dst.unlink(missing_ok=True)
        measured = peak(["upscale", str(sr_run), str(src), "--out", str(dst), "--tile", str(args.tile)], args.src)
        rows.append(row(f"upscale x2 {size} px, tile {args.tile}", (2 * size, 2 * size, 3), measured, base))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        dst.unlink()
    if args.outpaint_size:
        w, h = (int(v) for v in args.outpaint_size.lower().split("x"))
        left, top, right, bottom = (int(v) for v in args.borders.split(","))
        src, dst = work / f"in-{w}x{h}.png", work / f"outpaint-{w}x{h}.png"
        if not src.exists():
            smooth_image(h, w, seed=1).save(src)
        dst.unlink(missing_ok=True)
        measured = peak(["inpaint", str(inpaint_run), str(src), "--outpaint", args.borders, "--out", str(dst)],
                        args.src)
        rows.append(row(f"inpaint --outpaint {args.borders} of {w}x{h}",
                        (h + top + bottom, w + left + right, 3), measured, base))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        dst.unlink()
    if args.sample_n:
        rows += sample_rows(work, args.sample_n, args.src)
    print(json.dumps({"machine": machine(), "src": args.src or "this checkout", "work": str(work), "rows": rows},
                     indent=1))


if __name__ == "__main__":
    main()
