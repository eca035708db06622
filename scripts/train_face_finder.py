"""Train the swap pipeline's face finder, src/ganforge/swap/face-finder.safetensors (issue 32).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_face_finder.py [--frames 30000] [--out PATH]

Frames of the face emoji of the training split (both styles) drawn at random poses over random backgrounds, a hand in
front of half of them (`faceclips.draw_faces`): the coarse network learns each face's pose from the frame, the refiner
the error of a perturbed guess (swap/finder.py). Printed and stored: its errors on fresh frames of the held-out faces
(google style, what the test clips show): median and 95th percentile of position (px), scale and rotation (deg).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.data.builtin.faceclips import draw_faces, face_pools
from ganforge.swap.finder import FINDER_FILE, locate, pose_errors, save_finder, train_finder


def drawn(faces: np.ndarray, seed: int, style: str, occluded: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    d = draw_faces(faces, seed, style=style, occluded=occluded)
    return d["frames"], {"centre": d["centre"], "side": d["side"], "angle": d["angle"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FINDER_FILE)
    parser.add_argument("--frames", type=int, default=30000, help="training frames, half in each style")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--occluded", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    pools = face_pools()
    rng = np.random.default_rng(args.seed)
    parts = [drawn(rng.choice(pools["train"], args.frames // 2), args.seed * 2 + i, style, args.occluded)
             for i, style in enumerate(("google", "twitter"))]
    frames = np.concatenate([p[0] for p in parts])
    poses = {k: np.concatenate([p[1][k] for p in parts]) for k in ("centre", "side", "angle")}
    drawn_sec = time.perf_counter() - started
    finder = train_finder(frames, poses, args.epochs, args.seed)
    test_frames, test_poses = drawn(np.tile(pools["test"], 100), 1000 + args.seed, "google", args.occluded)
    errors = pose_errors(locate(finder, test_frames), test_poses)
    coarse = pose_errors(locate(finder, test_frames, steps=0), test_poses)
    summary = {"train_frames": len(frames), "styles": ["google", "twitter"], "occluded": args.occluded,
               "epochs": args.epochs, "seed": args.seed, "test_frames": len(test_frames), "test_faces": "held out",
               **{f"{k}_median": round(float(np.median(v)), 4) for k, v in errors.items()},
               **{f"{k}_p95": round(float(np.percentile(v, 95)), 4) for k, v in errors.items()},
               **{f"coarse_{k}_median": round(float(np.median(v)), 4) for k, v in coarse.items()},
               "draw_sec": round(drawn_sec, 1), "train_sec": round(time.perf_counter() - started - drawn_sec, 1),
               "torch": torch.__version__, "command": "python scripts/train_face_finder.py"}
    save_finder(finder, args.out, summary)
    print(json.dumps({**summary, "out": str(args.out)}))


if __name__ == "__main__":
    main()
