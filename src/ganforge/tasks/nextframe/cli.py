"""`ganforge predict RUN CLIP --predict-frames N --out OUT.gif|mp4`: continue a clip with a trained nextframe model.

CLIP is a video file (GIF always; MP4, WebM, ... with the `video` extra) or a moving-data index
`[NAME:][SPLIT:]INDEX` (`moving-mnist:test:7`, or `test:7` for the run's own data; SPLIT defaults to test,
the clips of held-out digits or emoji). The model observes k frames from `--start` (negative: from the end)
and predicts the next N. Frames of another size are centre-cropped and resized to the model's frame size,
with a note on stderr. OUT shows the observed frames followed by the predicted ones (`--no-context`: the
predicted ones only); `--compare` puts the true frames on the left where the clip has them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from ganforge.cli.options import (
    device_option,
    no_watermark_option,
    old_name,
    overwrite_option,
    renamed,
    runtime_option,
)
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.outputs import check_output_file

ANIMATION_SUFFIXES = (".gif", ".mp4", ".webm")
GAP = 2  # white pixels between the true and predicted panels of --compare


def side_by_side(left: np.ndarray | None, right: np.ndarray) -> np.ndarray:
    """[H, W, C] frames next to each other with a white gap; a missing left frame is a white panel."""
    left = np.full_like(right, 255) if left is None else left
    gap = np.full((right.shape[0], GAP, right.shape[2]), 255, dtype=np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def predict_clip(pipe, source: np.ndarray, horizon: int, start: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(observed [k, R, R, C], predicted [horizon, R, R, C], the true frames that follow where the clip has them
    [<= horizon, R, R, C], the first observed frame) of a loaded clip (`pipe.load_clip`), observed from `start`."""
    k = pipe.context_frames
    observed = pipe.context_of(source, start)
    predicted = pipe.predict_batch(observed[None], horizon)[0]  # [horizon, R, R, C]
    first = start + len(source) if start < 0 else start
    return observed, predicted, source[first + k : first + k + horizon], first


def prediction_frames(observed: np.ndarray, predicted: np.ndarray, truth: np.ndarray, context: bool = True,
                      compare: bool = False) -> np.ndarray:
    """The animation's frames [T, H, W', C]: the observed frames (with `context`) then the predicted ones; with
    `compare`, each beside the true frame (the observed frame itself while observing; white where none is known)."""
    shown = []
    if context:
        shown += [side_by_side(f, f) if compare else f for f in observed]
    for t, f in enumerate(predicted):
        shown.append(side_by_side(truth[t] if t < len(truth) else None, f) if compare else f)
    return np.stack(shown)


def prediction_strip(observed: np.ndarray, predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """A still image [H', W', C]: a row of the observed frames followed by the predicted ones and, where true frames
    are known, a second row of the observed frames followed by the true ones (white where the clip ends)."""
    from ganforge.imaging import make_grid

    rows = [np.concatenate([observed, predicted])]
    if len(truth):
        white = np.full((len(predicted) - len(truth), *predicted.shape[1:]), 255, dtype=np.uint8)
        rows.append(np.concatenate([observed, truth, white]))
    return make_grid(np.concatenate(rows), nrow=len(rows[0]))


def predict_command(
    run: Path = typer.Argument(..., help="nextframe run directory, checkpoint folder or exported model."),
    clip: str = typer.Argument(..., help="A video file (GIF; MP4/WebM with the video extra) or a moving-data index "
                               "[NAME:][SPLIT:]INDEX such as moving-mnist:test:7, or test:7 for the run's own data."),
    predict_frames: int | None = typer.Option(None, "--predict-frames", help="Frames to predict [default: the model's "
                                              "horizon; longer horizons are predicted autoregressively]. (old name: "
                                              "--frames)"),
    frames: int | None = old_name("--frames"),
    out: Path = typer.Option(Path("prediction.gif"), "--out", help="Animation to write: .gif, or .mp4/.webm with the "
                             "video extra."),
    start: int = typer.Option(0, "--start", help="First observed frame of CLIP (negative counts from the end: "
                              "--start -10 observes the last 10 frames)."),
    context: bool = typer.Option(True, "--context/--no-context", help="Show the observed frames before the "
                                 "predicted ones."),
    compare: bool = typer.Option(False, "--compare", help="Put the true frames (where CLIP has them) left of the "
                                 "prediction."),
    fps: int = typer.Option(10, "--fps", help="Frames per second of the animation."),
    device: str = device_option(),
    runtime: str = runtime_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Predict the frames that follow a clip with a trained nextframe model, and write them as an animation."""
    from ganforge.api import load
    from ganforge.imaging import save_animation
    from ganforge.tasks.nextframe.pipeline import FramePredictionPipeline

    frames, frames_flag = renamed("predict", "--predict-frames", predict_frames, "--frames", frames)
    if out.suffix.lower() not in ANIMATION_SUFFIXES:
        raise GanforgeError(f"--out must end in {', '.join(ANIMATION_SUFFIXES)}, got {out.name!r}")
    if frames is not None and frames < 1:
        raise GanforgeError(f"{frames_flag} must be at least 1, got {frames}")
    if fps < 1:
        raise GanforgeError(f"--fps must be at least 1, got {fps}")
    check_output_file(out, [Path(clip)] if Path(clip).exists() else [], overwrite)
    pipe = load(run, device=resolve_device(device), runtime=runtime)
    if not isinstance(pipe, FramePredictionPipeline):
        raise GanforgeError(f"{run} is not a nextframe model; `ganforge sample` or `translate` may fit it")
    horizon = pipe.out_frames if frames is None else frames
    k = pipe.context_frames
    source = pipe.load_clip(clip, min_frames=k + horizon)  # uint8 [T, R, R, C]
    observed, predicted, truth, first = predict_clip(pipe, source, horizon, start)
    provenance = pipe.provenance({"clip": Path(clip).name if Path(clip).is_file() else clip, "start": start,
                                  "predict_frames": horizon, "context": context, "compare": compare, "fps": fps},
                                 not no_watermark, "predict")
    shown = provenance.mark(prediction_frames(observed, predicted, truth, context, compare))  # every frame marked
    path = save_animation(shown, out, fps=fps, metadata=provenance.metadata())
    what = f"{k} observed + {horizon} predicted" if context else f"{horizon} predicted"
    extra = f"; left: the {len(truth)} true frames" if compare else ""
    typer.echo(f"{what} frames of {clip} (observed from frame {first}) written to {path}{extra}")


VERBS = {"predict": predict_command}  # registered by cli/main.py through the task specs
