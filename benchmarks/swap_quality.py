"""Identity swap (issue 32): what a swap of face A's clip to face B scores against the exact re-render of B along A's
trajectory, for the references every swap model is measured between.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/swap_quality.py --clips 100

Rows (test-split face clips, each with a target face B drawn from the other faces):
- `truth`: B drawn along A's trajectory, behind A's hand (`FaceClips.render_as`): the ceiling;
- `naive paste`: B's image pasted upright into A's face box in every frame, over the hand (the bar's baseline);
- `unchanged`: A's clip as it is (the floor).
Scores: `identity`: the share of frames whose face, aligned to an upright crop by its pose, the shipped identity
classifier reads as B (bar 0.90); `psnr_face`: PSNR over the true face region (B's visible pixels; bar 25 dB);
`flicker_ratio`: mean absolute frame-to-frame change over that region against the truth's (bar at most 1.2). Prints
one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from report import machine, rounded

from ganforge.data.builtin.faceclips import FaceClips, to_uint8
from ganforge.metrics.identity import SIDE, identity_probabilities
from ganforge.swap.align import align, naive_paste


def scores(output: np.ndarray, truth: np.ndarray, mask: np.ndarray, pose: dict, target: int) -> dict[str, float]:
    """One clip's identity share, face-region PSNR and flicker ratio."""
    crops = align(output, pose["centre"], pose["side"], pose["angle"], SIDE)
    identity = float((identity_probabilities(crops).argmax(1) == target).float().mean())
    weight = mask[..., None].repeat(3, axis=3)
    error = ((output.astype(np.float64) - truth.astype(np.float64)) ** 2 * weight).sum() / max(weight.sum(), 1e-9)
    psnr = float(10 * np.log10(255.0**2 / max(error, 1e-12)))

    def flicker(frames: np.ndarray) -> float:
        change = np.abs(np.diff(frames.astype(np.float64), axis=0)) * weight[1:]
        return float(change.sum() / max(weight[1:].sum(), 1e-9))

    return {"identity": identity, "psnr_face": psnr, "flicker_ratio": flicker(output) / max(flicker(truth), 1e-9)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    clips = FaceClips("test", num_clips=args.clips, frames=args.frames, size=args.size, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    rows: dict[str, list[dict[str, float]]] = {"truth": [], "naive paste": [], "unchanged": []}
    occluded = 0
    for i in range(len(clips)):
        layout = clips.layout(i)
        a, tr = layout["identity"], layout["trajectory"]
        b = int(rng.choice([k for k in range(len(clips.faces.names)) if k != a]))
        pose = {"centre": tr.centre, "side": tr.side, "angle": tr.angle}
        source, truth, mask = clips[i], clips.render_as(i, b), clips.face_mask(i, b)
        outputs = {"truth": truth, "unchanged": source,
                   "naive paste": to_uint8(naive_paste(source, clips.faces.rgba[b], tr.centre, tr.side))}
        for name, output in outputs.items():
            rows[name].append(scores(output, truth, mask, pose, b))
        occluded += tr.occluder is not None
    result = {
        "benchmark": "swap_quality", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
        "command": " ".join(sys.argv), "clips": args.clips, "frames": args.frames, "size": args.size,
        "occluded_clips": occluded, "bars": {"identity": 0.90, "psnr_face": 25.0, "flicker_ratio": 1.2},
        "rows": {name: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for name, rs in rows.items()},
        "total_sec": time.perf_counter() - started,
    }
    print(json.dumps(rounded(result), indent=2))


if __name__ == "__main__":
    main()
