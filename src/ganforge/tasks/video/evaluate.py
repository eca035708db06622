"""Evaluation of a video generator: frame-level KID/FID against real frames, and motion against real clips.

    result = evaluate_video(ganforge.load("runs/video-vgan-moving-emoji-64"))
    result["model"]["kid1k"], result["model"]["motion"], result["real"]["motion"]

What `ganforge eval RUN` and `benchmarks/video_generation.py` both call. The real clips are the run's own
data (`data.video.resolve_video` with its resolution and frame count; the training split of moving data,
the distribution the generator was trained to match, as `ganforge eval` does for image generators), or
`data` given explicitly. For n clips a side:

- `kid{n}`, `kid{n}_std`, `fid{n}`: frames are images, so the standard Inception metrics apply to them. Frames
  of one clip are nearly copies of each other, so each side contributes one frame per clip, frame i mod T of
  clip i: n independent images that cover every time step equally. Real features are cached by content.
- `motion`: the mean absolute difference between consecutive frames, in [0, 1] units (uint8 / 255),
  averaged over all frames of all n clips, for the generated and the real clips; `motion_ratio` is generated
  over real. A generator that makes still pictures scores 0; one that flickers scores above the real clips.

There is no FVD (Fréchet Video Distance): it needs the I3D network's Kinetics weights, which cannot be had
here, and an FVD computed with any other network would be a different number under the same name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.compute import subset_indices
from ganforge.metrics.features import get_extractor
from ganforge.metrics.harness import EVALUATORS, Evaluator, Progress, Scorer, run_data, shown

DEFAULT_N = 1000  # clips (and so frames) a side unless told
NO_FVD = "FVD needs the I3D network's Kinetics weights, which are not available here; none is reported"


def motion(clips: np.ndarray) -> np.ndarray:
    """Per clip, the mean |x[t+1] - x[t]| over frames, pixels and channels, in [0, 1] units: uint8 [N, T, H, W, C] -> [N]."""
    assert clips.ndim == 5, clips.shape  # [N, T, H, W, C]
    if clips.shape[1] < 2:
        raise GanforgeError(f"motion needs clips of at least 2 frames, got {clips.shape[1]}")
    out = []
    for start in range(0, len(clips), 64):  # int16 differences of a few clips at a time
        diff = np.abs(np.diff(clips[start : start + 64].astype(np.int16), axis=1))
        out.append(diff.reshape(len(diff), -1).mean(axis=1) / 255.0)
    return np.concatenate(out) if out else np.zeros(0)


def spread_frames(clips: np.ndarray, offset: int = 0) -> np.ndarray:
    """Frame (offset + i) mod T of clip i: uint8 [N, T, H, W, C] -> [N, H, W, C], one frame a clip, every time step."""
    index = (np.arange(len(clips)) + offset) % clips.shape[1]
    return clips[np.arange(len(clips)), index]


def load_real_clips(pipe: Any, data: str | None = None, n: int | None = None) -> dict[str, Any]:
    """{"clips": uint8 [n, T, H, W, C], "data", "split", "count"}: a fixed seeded subset of the run's clips."""
    from ganforge.data.builtin.moving import parse_moving
    from ganforge.data.video import resolve_video

    config, data = run_data(pipe, data, "name its clips with --data")
    moving = parse_moving(str(data)) is not None
    options = {} if moving else {"strict": bool(config.get("strict", False))}
    clips = resolve_video(data, pipe.resolution, frames=pipe.frames, **options)
    if clips.channels != pipe.channels:
        raise GanforgeError(f"--data {data} has {clips.channels} channels, the model makes {pipe.channels}")
    count = min(len(clips), DEFAULT_N) if n is None else n
    if count < 2:
        raise GanforgeError(f"--n must be at least 2 (KID and FID need two frames a side), got {count}")
    if count > len(clips):
        raise GanforgeError(f"--n {count} is more than the {len(clips)} clips of {data}")
    chosen = clips.clips(subset_indices(len(clips), count))
    return {"clips": chosen, "data": str(data), "split": "train" if moving else None, "count": len(clips)}


def evaluate_video(
    pipe: Any,
    data: str | None = None,
    n: int | None = None,
    seed: int = 0,
    inception: str | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    progress: Progress | None = None,
    extractor: Any = None,
) -> dict[str, Any]:
    """Frame KID/FID and motion of a VideoGenerationPipeline's clips (seeds seed..seed+n-1) against real clips.

    Returns one JSON-ready dict: task, data, split, resolution, frames, n, frame_sampling, extractor, resize,
    kid_subset, kid_subsets, fvd (None, with `fvd_note`), and `model` / `real` dicts (see the module doc).
    """
    from ganforge.tasks.video.pipeline import VideoGenerationPipeline

    if not isinstance(pipe, VideoGenerationPipeline):
        raise GanforgeError("evaluate_video takes a video generation model")
    real = load_real_clips(pipe, data, n)
    real_clips = real["clips"]
    count = len(real_clips)
    scorer = Scorer(extractor if extractor is not None else get_extractor(inception, device), count * 3, progress,
                    batch_size)  # generating, then real and generated features
    generate = scorer.stage()
    fake_frames, fake_motion = [], []
    for start in range(0, count, batch_size):
        seeds = list(range(seed + start, seed + min(start + batch_size, count)))
        clips = pipe(seeds=seeds, output_type="np", batch_size=batch_size, watermark=False)  # uint8 [b, T, H, W, C]
        fake_frames.append(spread_frames(clips, start))
        fake_motion.append(motion(clips))
        generate(start + len(seeds), count)
    real_feats = scorer.features(spread_frames(real_clips))
    model = scorer.compare({"model": np.concatenate(fake_frames)}, lambda *_: {}, real_feats)["model"]
    model["motion"] = float(np.concatenate(fake_motion).mean())
    real_motion = float(motion(real_clips).mean())
    return {
        "task": "video", "data": real["data"], "split": real["split"], "resolution": pipe.resolution,
        "frames": pipe.frames, "n": int(count), "frame_sampling": "frame i mod T of clip i",
        **scorer.fields(count, count), "fvd": None, "fvd_note": NO_FVD,
        "model": model, "real": {"motion": real_motion},
        "motion_ratio": model["motion"] / real_motion if real_motion > 0 else None,
    }


@EVALUATORS.register("video")
class VideoEvaluator(Evaluator):
    """Video generators: frame KID/FID and motion against real clips; no baseline."""

    runs = "video runs"
    min_n_reason = "KID and FID need two frames a side"
    stage = "evaluating clips"
    columns = ("model", "real")

    run = evaluate_video

    def headline(self, result: dict[str, Any]) -> str:
        split = self.split_of(result)
        return (f"video generation against {split}{result['data']} at {result['resolution']} px, {result['frames']} "
                f"frames: n = {result['n']} clips a side, KID/FID on {result['frame_sampling']} (KID subsets of "
                f"{result['kid_subset']}); no FVD: its I3D weights are not available")

    def extra_lines(self, result: dict[str, Any]) -> list[str]:
        ratio = result["motion_ratio"]
        return [] if ratio is None else [f"{'motion_ratio':<16}{shown(ratio):>12}"]


def video_table(result: dict[str, Any]) -> str:
    """Metric rows, model and real columns, under what was evaluated."""
    return VideoEvaluator().table(result)
