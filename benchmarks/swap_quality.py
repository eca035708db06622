"""Identity swap (issue 32): what a swap of face A's clip to face B scores against the exact re-render of B along A's
trajectory, for trained swap models and the references they are measured between.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/swap_quality.py --clips 100 [--run RUN ...] [--finder] [--files 10]

Rows (test-split face clips; A is the clip's own face, one of the held-out tenth, and B another face drawn at random):
- `truth`: B drawn along A's trajectory, behind A's hand (`FaceClips.render_as`): the ceiling;
- `naive paste`: B's image pasted upright into A's face box in every frame, over the hand (the bar's baseline);
- `unchanged`: A's clip as it is (the floor);
- one per `--run`, as `ganforge swap` makes it (the clip's own poses; scored unmarked, as the references are, and
  marked once for the file rows); with `--finder` a second row
  whose poses come from the shipped face finder instead; a simswap run's row also split by whether B is a face its
  training saw or one of the held-out tenth (told to it only by the identity encoder's embedding). A simswap run swaps to B; an autoencoder knows two faces
  only, so its clips are the same trajectories drawn with its face A, swapped to its face B.
Scores (`metrics.swap`): identity (bar 0.90), position / scale / rotation error of B's face in the output (bars 2 px,
5%, 5 degrees), PSNR over the true face region (bar 25 dB, and above naive paste), flicker ratio (bar 1.2). With
`--files N`, each run's first N swapped clips are also written as GIF and MP4 the way `ganforge swap` writes them and
read back: the watermark's bit accuracy over every frame (bar 0.99) and the share of frames found marked. Prints one
JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from report import machine, rounded

from ganforge.data.builtin.faceclips import FaceClips, to_uint8
from ganforge.swap.align import naive_paste
from ganforge.tasks.swap.evaluate import BARS, ClipCase, mean_scores, model_case, swap_targets


def file_marks(pipe, frames: np.ndarray, suffix: str, folder: Path) -> list[tuple[float, bool]]:
    """(bit accuracy, marked) of every frame of `frames` written as `suffix` the way `ganforge swap` writes."""
    from ganforge.data.video import read_video
    from ganforge.imaging import save_animation
    from ganforge.provenance import check_mark

    provenance = pipe.provenance({"benchmark": "swap_quality"}, True, "swap")
    path = save_animation(provenance.mark(frames.copy()), folder / f"clip{suffix}", fps=10,
                          metadata=provenance.metadata())
    checks = [check_mark(np.asarray(f)[..., :3]) for f in read_video(path)]
    return [(c.bit_matches / c.n_bits, c.marked) for c in checks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", action="append", default=[], help="a swap run or export to score (repeatable)")
    parser.add_argument("--finder", action="store_true", help="also score each run on the face finder's poses")
    parser.add_argument("--files", type=int, default=0, help="clips per run written as GIF and MP4 and read back")
    parser.add_argument("--grid", type=Path, default=None, help="write a figure here: for the first clip a hand "
                        "crosses, every other frame of the source, each run's swap and the truth, a row each")
    args = parser.parse_args()
    started = time.perf_counter()
    clips = FaceClips("test", num_clips=args.clips, frames=args.frames, size=args.size, seed=args.seed)
    pipes = {}
    if args.run:
        from ganforge.api import load
        from ganforge.swap.finder import find_faces

        pipes = {Path(run).name: load(run) for run in args.run}
    train_faces = set(range(len(clips.faces.names))) - {int(k) for k in clips.pool}  # all but the held-out faces
    rows: dict[str, list[dict[str, float]]] = {"truth": [], "naive paste": [], "unchanged": []}
    marks: dict[str, dict[str, list[tuple[float, bool]]]] = {}
    occluded = 0
    figure: list[np.ndarray] = []
    for i, b in enumerate(swap_targets(clips, args.seed)):
        case = ClipCase(clips, i, b)
        pasted = naive_paste(case.source, clips.faces.rgba[b], case.pose["centre"], case.pose["side"])
        for name, output in (("truth", case.truth), ("unchanged", case.source), ("naive paste", to_uint8(pasted))):
            rows[name].append(case.score(output))
        for run, pipe in pipes.items():
            run_case, face = model_case(pipe, clips, i, b)
            swapped = pipe.swap_frames(run_case.source, run_case.pose, face, watermark=False)  # marked once, below
            rows.setdefault(run, []).append(run_case.score(swapped))
            if pipe.model == "simswap":  # faces its training saw, and the held-out ones it knows only by embedding
                seen = "B a training face" if face in train_faces else "B a held-out face"
                rows.setdefault(f"{run} ({seen})", []).append(rows[run][-1])
            if args.finder:
                found = find_faces(run_case.source)
                rows.setdefault(f"{run} (finder poses)", []).append(
                    run_case.score(pipe.swap_frames(run_case.source, found, face, watermark=False)))
            if i < args.files:
                with tempfile.TemporaryDirectory() as folder:
                    for suffix in (".gif", ".mp4"):
                        marks.setdefault(run, {}).setdefault(suffix, []).extend(
                            file_marks(pipe, swapped, suffix, Path(folder)))
        if args.grid is not None and not figure and case.occluded and pipes:
            for pipe in pipes.values():
                run_case, face = model_case(pipe, clips, i, b)
                figure += [run_case.source[::2], pipe.swap_frames(run_case.source, run_case.pose, face,
                                                                  watermark=False)[::2],
                           run_case.truth[::2]]
        occluded += case.occluded
    result = {
        "benchmark": "swap_quality", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
        "command": " ".join(sys.argv), "clips": args.clips, "frames": args.frames, "size": args.size,
        "occluded_clips": occluded, "bars": {**BARS, "bit_accuracy": 0.99},
        "rows": {name: mean_scores(rs) for name, rs in rows.items()},
        "files": {run: {suffix: {"frames": len(v), "bit_accuracy": float(np.mean([m[0] for m in v])),
                                 "lowest_bit_accuracy": float(min(m[0] for m in v)),
                                 "frames_marked": float(np.mean([m[1] for m in v]))}
                        for suffix, v in per.items()} for run, per in marks.items()},
        "runs": {run: {"model": pipe.model, "faces": pipe.faces if pipe.model == "autoencoder" else "any",
                       "source": str(pipe.config.get("source", {}).get("run", run))} for run, pipe in pipes.items()},
        "total_sec": time.perf_counter() - started,
    }
    if figure:
        from ganforge.imaging import make_grid, save_image

        save_image(make_grid(np.concatenate(figure), nrow=len(figure[0])), args.grid)
        result["grid"] = str(args.grid)
    print(json.dumps(rounded(result), indent=2))


if __name__ == "__main__":
    main()
