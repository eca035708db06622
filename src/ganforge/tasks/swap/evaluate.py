"""Evaluation of a swap model on held-out face clips: `ganforge eval SWAP_RUN` (issue 32's bars).

Each test clip shows one of the held-out faces (A); it is swapped to another face B (seeded), or, for an autoencoder,
the clip's trajectory drawn with its face A is swapped to its face B. Scores (`metrics.swap`, means over clips):
identity (the shipped classifier reads B; bar 0.90), the pose of B's face in the output (bars 2 px, 5%, 5 degrees),
PSNR over the true face region (bar 25 dB), flicker against the true clip's (bar 1.2), next to `naive paste` (B's
image pasted upright over the face box: PSNR must beat it) and `unchanged` (the clip as it is). Swaps are scored
unmarked, as the references are (the watermark's 38 dB is another matter: `benchmarks/swap_quality.py --files`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.harness import EVALUATORS, Evaluator, Progress

BARS = {"identity": 0.90, "position_px": 2.0, "scale": 0.05, "rotation_deg": 5.0, "psnr_face": 25.0,
        "flicker_ratio": 1.2}
DEFAULT_CLIPS = 50


def swap_targets(clips: Any, seed: int = 0) -> list[int]:
    """The face B each clip is swapped to: any face but its own, seeded."""
    rng = np.random.default_rng(seed)
    faces = len(clips.faces.names)
    return [int(rng.choice([k for k in range(faces) if k != clips.layout(i)["identity"]])) for i in range(len(clips))]


class ClipCase:
    """One test clip swapped to face `b`: the source frames, their poses, and how an output scores."""

    def __init__(self, clips: Any, index: int, b: int, source_face: int | None = None) -> None:
        layout = clips.layout(index)
        tr = layout["trajectory"]
        self.clips, self.index, self.b = clips, index, b
        self.pose = {"centre": tr.centre, "side": tr.side, "angle": tr.angle}
        self.source = clips[index] if source_face is None else clips.render_as(index, source_face)
        self.truth = clips.render_as(index, b)
        self.occluded = tr.occluder is not None

    def score(self, output: np.ndarray) -> dict[str, float]:
        from ganforge.metrics.swap import swap_scores

        _, hand, background = self.clips.layers(self.index, self.b)
        return swap_scores(output, self.truth, self.clips.face_mask(self.index, self.b), self.pose, self.b,
                           self.clips.faces.rgba[self.b], background, hand)


def model_case(pipe: Any, clips: Any, index: int, b: int) -> tuple[ClipCase, Any]:
    """The case a swap model is scored on, and the face it swaps to: B for simswap; an autoencoder's own pair."""
    if pipe.model == "autoencoder":
        from ganforge.tasks.swap.data import face_names

        if not set(pipe.faces) <= set(face_names(pipe.style)):
            raise GanforgeError(f"this autoencoder swaps {pipe.faces[0]!r} and {pipe.faces[1]!r} from folders of crops; "
                                "only swaps between face emoji are scored, on the face clips")
        own, other = (pipe.face_index(name) for name in pipe.faces)
        return ClipCase(clips, index, other, source_face=own), other
    return ClipCase(clips, index, b), b


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def evaluate_swap(pipe: Any, data: str | None = None, n: int | None = None, inception: str | None = None,
                  device: str = "cpu", progress: Progress | None = None) -> dict[str, Any]:
    """Held-out scores of a SwapPipeline (see the module doc)."""
    from ganforge.data.builtin.faceclips import FaceClips, to_uint8
    from ganforge.swap.align import naive_paste

    clips = FaceClips("test", num_clips=n or DEFAULT_CLIPS, style=pipe.style)
    pipe.to(device)
    rows: dict[str, list[dict[str, float]]] = {"model": [], "naive paste": [], "unchanged": []}
    for i, b in enumerate(swap_targets(clips)):
        case, face = model_case(pipe, clips, i, b)
        rows["model"].append(case.score(pipe.swap_frames(case.source, case.pose, face, watermark=False)))
        pasted = naive_paste(case.source, clips.faces.rgba[case.b], case.pose["centre"], case.pose["side"])
        rows["naive paste"].append(case.score(to_uint8(pasted)))
        rows["unchanged"].append(case.score(case.source))
        if progress is not None:
            progress(i + 1, len(clips))
    return {"task": "swap", "split": "test", "data": "faceclips", "n": len(clips), "model_kind": pipe.model,
            "faces": pipe.faces if pipe.model == "autoencoder" else "any", "bars": BARS,
            **{name: mean_scores(r) for name, r in rows.items()}}


@EVALUATORS.register("swap")
class SwapEvaluator(Evaluator):
    """Swap model: held-out face clips swapped, against their exact answers."""

    runs = "swap runs"
    min_n = 1
    stage = "swapping the held-out clips"
    columns = ("model", "naive paste", "unchanged")

    run = evaluate_swap

    def headline(self, result: dict[str, Any]) -> str:
        who = "its two faces" if result["model_kind"] == "autoencoder" else "a random other face each"
        return (f"swap ({result['model_kind']}) on {result['n']} held-out face clips, swapped to {who} (bars: "
                + ", ".join(f"{k} {v}" for k, v in result["bars"].items()) + ")")
