"""Latency of the web studio's main requests on this CPU (issue 28), through its API: gradio_client against the
studio served in-process on 127.0.0.1, as a page's requests reach it (upload, queue, model, the PNG or GIF back).

  generate  a 64-image grid (seeds 0-63) from the shipped zoo:emoji-32 (DCGAN, 32 px)
  inpaint   a 256x256 image with a brushed hole (a quarter of it), LaMa-style generator at the task's defaults
  upscale   a 256x256 image at x4 (to 1024x1024), SRResNet at the task's defaults, the studio's default tiling
  predict   20 frames predicted from an uploaded 10-frame 64x64 clip, SimVP at the task's defaults

The inpaint, superres and nextframe models are trained here for one step on synthetic data (in a temp folder, or
--runs to keep and reuse them), at the tasks' default widths and depths: a request's latency depends on the
architecture and the input size, not on how well the model is trained (batch and kimg do not change the networks).

Each request runs once to load its model (reported as first_s), then --repeats times; the JSON gives the median and
every latency in seconds (round trip, as the client sees it) and the model's own time as the tab reports it. With
--browser-test, the wall time of the browser test (tests/studio/test_studio_browser.py, its own process) too.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/studio_latency.py [--repeats 5] [--browser-test]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from report import machine, rounded

REPO = Path(__file__).resolve().parent.parent
GRID_SEEDS = "0-63"
SIDE = 256  # inpaint and upscale inputs
CLIP = dict(observed=10, frames_out=20, size=64)  # nextframe's defaults: 10 observed frames of 64 px
# One step of each task at its defaults (architecture, resolution); small batches, as the batch is not the network.
RUNS: dict[str, dict[str, Any]] = {
    "inpaint": dict(task="inpaint", batch=4, kimg=0.004),
    "superres": dict(task="superres", batch=4, kimg=0.004),
    "nextframe": dict(task="nextframe", resolution=64, batch=4, kimg=0.004),
}
QUIET = dict(tick_kimg=1.0, sample_every_kimg=100.0, checkpoint_every_kimg=100.0, grid_size=4, precision="fp32")


def smooth(size: int, seed: int) -> np.ndarray:
    """uint8 [size, size, 3]: a bilinear blow-up of 6x6 noise, as photos are smooth at this scale."""
    coarse = np.random.default_rng(seed).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.BILINEAR))


def moving_square(frames: int, size: int, seed: int) -> np.ndarray:
    """uint8 [frames, size, size, 1]: a white square bouncing across black, Moving MNIST's kind of motion."""
    rng = np.random.default_rng(seed)
    side = size // 4
    out = np.zeros((frames, size, size, 1), dtype=np.uint8)
    (y, x), (dy, dx) = rng.integers(0, size - side, 2), rng.integers(1, 4, 2)
    for t in range(frames):
        out[t, y : y + side, x : x + side] = 255
        dy = -dy if not 0 <= y + dy <= size - side else dy
        dx = -dx if not 0 <= x + dx <= size - side else dx
        y, x = y + dy, x + dx
    return out


def train_runs(root: Path) -> dict[str, Path]:
    """The three runs (each trained once; an existing one is reused), on synthetic data written beside them."""
    import ganforge
    from ganforge.imaging import save_animation

    images, clips = root / "data" / "images", root / "data" / "clips"
    if not images.is_dir():
        images.mkdir(parents=True)
        for i in range(16):
            Image.fromarray(smooth(48, i)).save(images / f"{i:03d}.png")
    if not clips.is_dir():
        clips.mkdir(parents=True)
        for i in range(4):
            save_animation(moving_square(24, CLIP["size"], i), clips / f"clip{i}.gif")
    runs = {}
    for name, settings in RUNS.items():
        run = root / "runs" / name
        if not (run / "model.json").is_file():
            data = clips if settings["task"] == "nextframe" else images
            started = time.perf_counter()
            ganforge.train(**settings, **QUIET, data=str(data), out=str(root / "runs"), name=name)
            print(f"trained {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        runs[name] = run
    return runs


def architecture(value: Path | str) -> dict[str, Any]:
    """What sets a model's cost: its network's class and settings (the generator, or nextframe's predictor), as its
    model.json (a run) or config.json (an export, a shipped model) records them."""
    from ganforge.studio.catalogue import model_spec

    spec = model_spec(str(value))
    network = next(iter(spec.get("components", {}).values()), {})
    return {"pipeline": spec.get("pipeline"), "network": network.get("class"), **network.get("kwargs", {})}


def requests(runs: dict[str, Path], inputs: Path) -> dict[str, tuple[str, tuple]]:
    """Each request: (api name, arguments as the page sends them)."""
    from gradio_client import handle_file

    from ganforge.imaging import save_animation
    from ganforge.tasks.superres.pipeline import DEFAULT_OVERLAP, DEFAULT_TILE

    image = Image.fromarray(smooth(SIDE, 100))
    image.save(inputs / "photo.png")
    hole = np.zeros((SIDE, SIDE, 4), dtype=np.uint8)
    hole[SIDE // 4 : 3 * SIDE // 4, SIDE // 4 : 3 * SIDE // 4] = (255, 0, 255, 255)  # the brushed layer
    Image.fromarray(hole).save(inputs / "hole.png")
    clip = save_animation(moving_square(CLIP["observed"], CLIP["size"], 100), inputs / "observed.gif")
    editor = {"background": handle_file(str(inputs / "photo.png")), "layers": [handle_file(str(inputs / "hole.png"))],
              "composite": None}
    return {
        "generate_64_grid": ("/generate", ("zoo:emoji-32", GRID_SEEDS, None, 1.0, 0)),
        "inpaint_256": ("/inpaint", (str(runs["inpaint"]), editor, None, 0, 0, 0, 0)),
        "upscale_x4_256": ("/upscale", (str(runs["superres"]), handle_file(str(inputs / "photo.png")), DEFAULT_TILE,
                                        DEFAULT_OVERLAP)),
        "predict_20_frames": ("/predict_clip", (str(runs["nextframe"]), handle_file(str(clip)), CLIP["frames_out"], 0,
                                                5)),
    }


def model_seconds(result: Any) -> float | None:
    """The model's own time, from the tab's status line ("... in 0.12 s")."""
    status = result[-1] if isinstance(result, (list, tuple)) else result
    found = re.search(r" in ([\d.]+) s", str(status))
    return float(found.group(1)) if found else None


def measure(client: Any, api: str, args: tuple, repeats: int) -> dict[str, Any]:
    def once() -> tuple[float, Any]:
        started = time.perf_counter()
        result = client.predict(*args, api_name=api)
        return time.perf_counter() - started, result

    first, result = once()  # loads the model into the studio's cache
    times, model = [], []
    for _ in range(repeats):
        took, result = once()
        times.append(took)
        model.append(model_seconds(result))
    known = [m for m in model if m is not None]
    return {"median_s": statistics.median(times), "all_s": times, "first_s": first,
            "model_median_s": statistics.median(known) if known else None, "status": str(result[-1])}


def browser_test_wall() -> dict[str, Any]:
    """The browser test alone, in its own process (its fixtures train the tiny runs it serves)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/studio/test_studio_browser.py"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    return {"command": " ".join(command[1:]), "wall_s": wall, "passed": done.returncode == 0,
            "summary": (done.stdout.strip().splitlines() or [""])[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="requests timed per kind, after one that loads the model")
    parser.add_argument("--runs", type=Path, default=None, help="folder for the trained runs, kept and reused "
                        "(default: a temp folder, removed at the end)")
    parser.add_argument("--browser-test", action="store_true", help="also time the browser test, in its own process")
    args = parser.parse_args()

    from gradio_client import Client

    from ganforge.studio import require_gradio

    require_gradio()
    from ganforge.studio.app import build_app, launch
    from ganforge.studio.context import StudioContext

    with tempfile.TemporaryDirectory(prefix="studio-latency-") as tmp:
        root = args.runs or Path(tmp)
        runs = train_runs(root)
        ctx = StudioContext(runs_dir=Path(tmp) / "empty-runs", models_dir=Path(tmp) / "empty-models",
                            given=[str(p) for p in runs.values()])
        app = build_app(ctx)
        try:
            url = launch(app, ctx, port=None, quiet=True)
            client = Client(url, verbose=False)
            inputs = Path(tmp) / "inputs"
            inputs.mkdir()
            models = {"generate_64_grid": "zoo:emoji-32", "inpaint_256": runs["inpaint"],
                      "upscale_x4_256": runs["superres"], "predict_20_frames": runs["nextframe"]}
            results = {}
            for name, (api, call) in requests(runs, inputs).items():
                results[name] = {**measure(client, api, call, args.repeats), "model": architecture(models[name])}
                print(f"{name}: median {results[name]['median_s']:.3f} s", file=sys.stderr, flush=True)
        finally:
            with contextlib.redirect_stdout(sys.stderr):  # Gradio says it is closing on stdout: keep that JSON
                app.close()
            ctx.close()
    row = {"command": " ".join(sys.argv), "machine": machine(), "repeats": args.repeats, "requests": results,
           "note": "round trips through gradio_client to the studio on 127.0.0.1 (upload, queue, model, output file); "
                   "first_s loads the model. The inpaint, superres and nextframe models are one-step runs at the "
                   "tasks' default architectures: latency depends on the architecture and input size, not on the "
                   "training. The nextframe run learns from colour GIFs (3 channels; Moving MNIST has 1), which "
                   "changes only its first and last layers."}
    if args.browser_test:
        row["browser_test"] = browser_test_wall()
    print(json.dumps(rounded(row), indent=1))


if __name__ == "__main__":
    main()
