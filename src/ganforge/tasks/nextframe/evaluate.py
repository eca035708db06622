"""Evaluation of a next-frame predictor on held-out clips, next to copying the last observed frame.

    result = evaluate_nextframe(ganforge.load("runs/nextframe-simvp-moving-mnist-64"))
    result["model"]["mse"], result["last_frame"]["mse"], result["per_step"]["model"]["ssim"][9]

What `ganforge eval RUN` and `benchmarks/video_quality.py nextframe` both call. The clips are the `test` split
of the run's moving data (`resolve_video(..., split="test")`: sequences built only from digits or emoji held
out of training), or the held-out videos `data` names for a run trained on a folder (a folder has no split of
its own). Each clip's first k frames are observed and the next `frames` (default: the model's native horizon
m; longer horizons are predicted autoregressively) are scored, per future step t = 1..frames and averaged
over steps:

- `mse`: per-frame squared error summed over the frame (pixels in [0, 1], summed over H x W x C), the Moving
  MNIST literature's per-frame MSE (Srivastava et al.; PredRNN, SimVP and OpenSTL report it this way, so a
  64x64 grey frame's MSE can reach 4096); `mae` the same with absolute errors;
- `psnr` (dB, peak 1, each frame capped at PSNR_MAX_DB so a perfect frame stays finite) and `ssim`
  (Gaussian 11x11, per frame; None below 11 px), per-frame means;
- `sharpness`: mean gradient magnitude of the predicted frames (metrics.image.sharpness, [0, 1] units); the
  true frames' is in `truth`, and `sharpness_ratio` = predicted / true (1 is as sharp as the truth, a blurred
  prediction falls below); `sharpness_diff` is Mathieu et al.'s sharpness difference in dB (higher: the
  gradients are closer to the true ones; capped at PSNR_MAX_DB).

Every figure is given for the model and for the `last_frame` baseline (the last observed frame held still),
since a predictor that does not beat standing still has learned no motion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.harness import EVALUATORS, EvalOptions, Evaluator, Progress, run_data, shown
from ganforge.metrics.image import PSNR_MAX_DB, SSIM_MIN_SIZE, psnr, sharpness, sharpness_difference, ssim

CHUNK = 100  # clips generated, predicted and scored at a time
FRAME_METRICS = ("mse", "mae", "psnr", "ssim", "sharpness", "sharpness_diff")
MSE_CONVENTION = "per-frame sum over H x W x C of squared errors, pixels in [0, 1]"


def load_nextframe_test(pipe: Any, data: str | None = None, frames: int | None = None,
                        split: str = "test") -> tuple[Any, str]:
    """The held-out clip set (len, [i] -> uint8 [T, R, R, C], T = k + frames) and its name."""
    from ganforge.data.builtin.moving import parse_moving
    from ganforge.data.video import resolve_video

    config, data = run_data(pipe, data, "name its test clips with --data (moving-mnist, moving-emoji, or a folder "
                                        "of held-out videos)")
    own = config.get("data")
    length = pipe.context_frames + (pipe.out_frames if frames is None else int(frames))
    if parse_moving(str(data)) is not None:
        clips = resolve_video(str(data), pipe.resolution, frames=length, split=split)
    elif data == own:
        raise GanforgeError(f"the run trained on the videos in {data}, which have no test split: name a folder of "
                            "held-out videos with --data")
    else:
        clips = resolve_video(str(data), pipe.resolution, frames=length, strict=bool(config.get("strict", False)))
    if clips.channels != pipe.channels:
        raise GanforgeError(f"{data} has {clips.channels}-channel frames, the model predicts {pipe.channels}")
    return clips, str(clips.meta.get("name", data))


def frame_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray | None]:
    """Per-frame scores of uint8 frames [N, H, W, C] against the truth: {metric: float64 [N]} (ssim None < 11 px)."""
    p, t = pred.astype(np.float64) / 255.0, truth.astype(np.float64) / 255.0
    err = (p - t).reshape(len(p), -1)
    small = min(pred.shape[1:3]) < SSIM_MIN_SIZE
    return {
        "mse": np.square(err).sum(axis=1),
        "mae": np.abs(err).sum(axis=1),
        "psnr": psnr(pred, truth, data_range=255.0, max_db=PSNR_MAX_DB),
        "ssim": None if small else ssim(pred, truth, data_range=255.0),
        "sharpness": sharpness(pred, data_range=255.0),
        "sharpness_diff": sharpness_difference(pred, truth, data_range=255.0, max_db=PSNR_MAX_DB),
    }


class _StepSums:
    """Running per-step sums of every frame metric over clips."""

    def __init__(self, steps: int) -> None:
        self.sums = {name: np.zeros(steps) for name in FRAME_METRICS}
        self.count = 0
        self.has_ssim = True

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        """pred, truth: uint8 [n, steps, H, W, C]."""
        n, steps = pred.shape[:2]
        scores = frame_scores(pred.reshape(-1, *pred.shape[2:]), truth.reshape(-1, *truth.shape[2:]))
        for name, values in scores.items():
            if values is None:
                self.has_ssim = False
                continue
            self.sums[name] += values.reshape(n, steps).sum(axis=0)
        self.count += n

    def per_step(self) -> dict[str, list[float] | None]:
        return {name: (None if name == "ssim" and not self.has_ssim else (s / self.count).tolist())
                for name, s in self.sums.items()}


def _averaged(per_step: dict[str, list[float] | None]) -> dict[str, float | None]:
    return {name: (None if values is None else float(np.mean(values))) for name, values in per_step.items()}


def evaluate_nextframe(
    pipe: Any,  # a FramePredictionPipeline
    data: str | None = None,  # held-out clips: default the run's moving data's test split
    n: int | None = None,  # clips scored (default: all of them)
    frames: int | None = None,  # future frames scored per clip (default: the model's native horizon)
    split: str = "test",  # moving data's split ("train" to measure overfitting)
    batch_size: int = 32,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Model and last-frame figures per future step and averaged; see the module doc."""
    clips, name = load_nextframe_test(pipe, data, frames, split)
    k = pipe.context_frames
    horizon = pipe.out_frames if frames is None else int(frames)
    if horizon < 1:
        raise GanforgeError(f"--frames must be at least 1, got {horizon}")
    count = len(clips) if n is None else int(n)
    if not 1 <= count <= len(clips):
        raise GanforgeError(f"--n must lie in 1..{len(clips)} (the {name} clips held out), got {count}")
    model, still = _StepSums(horizon), _StepSums(horizon)
    truth_sharp = np.zeros(horizon)
    for start in range(0, count, CHUNK):
        batch = clips.clips(range(start, min(count, start + CHUNK)))  # uint8 [b, k + horizon, R, R, C]
        context, future = batch[:, :k], batch[:, k:]
        pred = pipe.predict_batch(np.ascontiguousarray(context), horizon, batch_size=batch_size)
        model.add(pred, future)
        still.add(np.repeat(context[:, -1:], horizon, axis=1), future)
        flat = future.reshape(-1, *future.shape[2:])
        truth_sharp += sharpness(flat, data_range=255.0).reshape(len(batch), horizon).sum(axis=0)
        if progress is not None:
            progress(min(count, start + CHUNK), count)
    truth_per_step = (truth_sharp / count).tolist()
    per_step = {"model": model.per_step(), "last_frame": still.per_step(), "truth": {"sharpness": truth_per_step}}
    truth_mean = float(np.mean(truth_per_step))
    summary = {}
    for kind in ("model", "last_frame"):
        scores = _averaged(per_step[kind])
        scores["sharpness_ratio"] = scores["sharpness"] / truth_mean if truth_mean > 0 else None
        per_step[kind]["sharpness_ratio"] = [s / t if t > 0 else None
                                             for s, t in zip(per_step[kind]["sharpness"], truth_per_step)]
        summary[kind] = scores
    return {
        "task": "nextframe",
        "data": name,
        "split": split if clips.meta.get("split") else None,
        "resolution": pipe.resolution,
        "n": count,
        "context_frames": k,
        "frames": horizon,
        "native_frames": pipe.out_frames,
        "mse_convention": MSE_CONVENTION,
        "psnr_max_db": PSNR_MAX_DB,
        **summary,
        "truth": {"sharpness": truth_mean},
        "per_step": per_step,
    }


@EVALUATORS.register("nextframe")
class NextframeEvaluator(Evaluator):
    """Next-frame prediction: held-out clips, per future step and averaged, next to the last frame held still."""

    runs = "nextframe runs"
    options = ("frames",)
    min_n = None  # evaluate_nextframe names the range of held-out clips
    stage = "predicting held-out clips"
    columns = ("model", "last_frame", "truth")

    run = evaluate_nextframe

    def arguments(self, opts: EvalOptions) -> dict[str, Any]:
        return {"data": opts.data, "n": opts.n, "frames": opts.frames}

    def headline(self, result: dict[str, Any]) -> str:
        split = self.split_of(result)
        return (f"nextframe on {split}{result['data']} at {result['resolution']} px: n = {result['n']} clips, "
                f"{result['context_frames']} observed -> {result['frames']} predicted (native "
                f"{result['native_frames']}); MSE = {result['mse_convention']}")

    def extra_lines(self, result: dict[str, Any]) -> list[str]:
        """One row per future step of the model's MSE, PSNR, SSIM and sharpness, and the truth's sharpness."""
        steps, truth = result["per_step"]["model"], result["per_step"]["truth"]["sharpness"]
        lines = [f"{'step':<6}{'mse':>10}{'psnr':>10}{'ssim':>10}{'sharpness':>11}{'truth':>10}"]
        for t in range(result["frames"]):
            ssim_t = steps["ssim"][t] if steps["ssim"] is not None else None
            lines.append(f"{t + 1:<6}{steps['mse'][t]:>10.2f}{steps['psnr'][t]:>10.2f}{shown(ssim_t):>10}"
                         f"{steps['sharpness'][t]:>11.4f}{truth[t]:>10.4f}")
        return lines
