"""Text-to-image quality over a run (issue 30): train DF-GAN on emoji, evaluate at several kimg, print JSON.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/text2image_quality.py --work /tmp/t2i --milestones 25,50,100

For each milestone the run is trained (or resumed, exactly) to that many kimg, then `ganforge eval`'s text2image
evaluation runs on its EMA generator: FID/KID of images drawn from held-out captions (emoji names never trained on)
against the held-out real emoji, and the frozen alignment evaluator's R-precision (real-image ceiling, shuffled
floor), skin-tone and category accuracy, on held-out and on training captions. Writes a grid of fixed captions and
their images (--grid) for the README, and a JSON line per milestone as it goes (--log).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import machine  # noqa: E402
from train_detector import ensure_run  # noqa: E402  (train or resume a run to a kimg budget)

import ganforge  # noqa: E402

GRID_CAPTIONS = ("a red heart", "grinning face", "dog face", "woman raising hand: medium skin tone",
                 "thumbs up: dark skin tone", "pizza", "rocket", "flag: japan")


def write_grid(run: Path, out: Path, per_caption: int = 6) -> Path:
    """One row per caption in GRID_CAPTIONS, `per_caption` seeds each, watermarked, with the captions in the PNG."""
    import contextlib

    from ganforge.cli.main import main

    with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON
        if main(["generate", str(run), *GRID_CAPTIONS, "--n", str(per_caption), "--out", str(out), "--overwrite"]):
            raise SystemExit(f"generate failed for {run}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/t2i"))
    parser.add_argument("--name", default="dfgan-emoji-64")
    parser.add_argument("--data", default="emoji")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--contrastive-weight", type=float, default=None,
                        help="XMC-GAN's contrastive term (0 = off; default: the task's, 1)")
    parser.add_argument("--hard-negatives", type=float, default=None,
                        help="share of D's mismatched pairs drawn from the nearest captions (default: the task's)")
    parser.add_argument("--milestones", default="25,50,100", help="kimg at which to evaluate, comma-separated")
    parser.add_argument("--minutes", type=float, default=None, help="a time budget for each training call")
    parser.add_argument("--n", type=int, default=None, help="images per split (default: every held-out emoji)")
    parser.add_argument("--grid", type=Path, default=None, help="write the README's grid here at the end")
    parser.add_argument("--log", type=Path, default=None, help="append a JSON line per milestone here")
    args = parser.parse_args()
    from ganforge.tasks.text2image.evaluate import evaluate_text2image

    settings = dict(task="text2image", model="dfgan", data=args.data, resolution=args.resolution, width=args.width,
                    batch=args.batch, seed=0, **{k: v for k, v in (("contrastive_weight", args.contrastive_weight),
                                                                   ("hard_negatives", args.hard_negatives))
                                                 if v is not None})
    rows = []
    for kimg in (float(k) for k in args.milestones.split(",")):
        started = time.perf_counter()
        run = ensure_run(args.work, args.name, args.minutes, kimg=kimg, **settings)
        trained = time.perf_counter() - started
        started = time.perf_counter()
        result = evaluate_text2image(ganforge.load(run), n=args.n)
        row = {"kimg": kimg, "train_sec_this_call": round(trained, 1), "eval_sec": round(time.perf_counter() - started, 1),
               "held_out": result["held_out"], "train": result["train"]}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        if args.log:
            with open(args.log, "a") as f:
                f.write(json.dumps(row) + "\n")
    if args.grid:
        write_grid(run, args.grid)
    config = json.loads((run / "config.json").read_text())
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
                      "settings": settings, "run": str(run), "precision": config.get("precision_used"),
                      "rows": rows, "grid": str(args.grid) if args.grid else None}, indent=2))


if __name__ == "__main__":
    main()
