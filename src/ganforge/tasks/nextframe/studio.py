"""The studio's Predict tab: a nextframe model continues an uploaded clip (GIF; MP4, WebM with the video extra) or a
held-out clip of its data (`test:7`, as `ganforge predict` takes); the observed, predicted and, where the clip goes
on, true frames are shown as an animation (the layout of `ganforge predict --compare`) and as a still strip.

An upload is checked from its headers (bytes, frame size, frame count, all pixels together) before a frame is
decoded, and decoded straight to the model's frame size (`read_video`'s centre crop and resize)."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr
import numpy as np

from ganforge.errors import GanforgeError
from ganforge.imaging import save_animation
from ganforge.studio.context import StudioContext
from ganforge.studio.limits import check_clip
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import (
    MODEL_QUEUE,
    handler,
    marked_picture,
    model_picker,
    studio_provenance,
    watermark_box,
)

PIPELINES = ("nextframe",)


def build_predict_tab(ctx: StudioContext) -> None:
    """A clip (upload or held-out index) -> observed | predicted (| true) as a GIF and a strip."""
    from ganforge.data.video import VIDEO_EXTENSIONS

    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES)
            with gr.Row():
                frames = gr.Number(0, precision=0, minimum=0, maximum=ctx.limits.max_frames,
                                   label="Frames to predict (0 = the model's horizon)",
                                   info="beyond the horizon, predictions go on from predictions")
                start = gr.Number(0, precision=0, label="First observed frame",
                                  info="negative counts from the end: -k observes the last k frames")
            fps = gr.Slider(1, 30, value=5, step=1, label="Frames per second (GIF)")
            watermark = watermark_box()
            with gr.Tab("Upload a clip"):
                clip = gr.File(label="Clip (GIF; MP4, WebM ... with the video extra)", file_count="single",
                               file_types=list(VIDEO_EXTENSIONS), type="filepath")
                button = gr.Button("Predict", variant="primary")
            with gr.Tab("Held-out clip"):
                index = gr.Textbox("test:0", label="Clip index", info="test:7 (the run's own data, its held-out "
                                   "split), or NAME:SPLIT:INDEX such as moving-mnist:test:7")
                index_button = gr.Button("Predict held-out clip", variant="primary")
        with gr.Column(scale=2):
            animation = gr.Image(label="Observed, then predicted (left: the true frames, where known)",
                                 type="filepath", interactive=False)
            strip = gr.Image(label="Strip: observed + predicted (below: observed + true)", format="png", type="pil",
                             interactive=False)
            status = gr.Markdown()

    def horizon_of(pipe: Any, asked: float | None) -> int:
        horizon = int(asked or 0) or pipe.out_frames
        if not 1 <= horizon <= ctx.limits.max_frames:
            raise GanforgeError(f"frames to predict must lie in 1..{ctx.limits.max_frames}, got {horizon}")
        return horizon

    def show(pipe: Any, source: np.ndarray, what: str, horizon: int, first: float | None, rate: float | None,
             mark: bool | None) -> tuple[str, Any, str]:
        from ganforge.tasks.nextframe.cli import predict_clip, prediction_frames, prediction_strip

        began = time.perf_counter()
        observed, predicted, truth, at = predict_clip(pipe, source, horizon, int(first or 0))
        took = time.perf_counter() - began
        provenance = studio_provenance(pipe, {"clip": what, "start": at, "predict_frames": horizon}, mark)
        path = ctx.output_path("prediction.gif")
        shown = prediction_frames(observed, predicted, truth, context=True, compare=len(truth) > 0)
        save_animation(provenance.mark(shown), path, fps=max(1, int(rate or 5)), metadata=provenance.metadata())
        known = f"; {len(truth)} true frames shown" if len(truth) else "; the clip ends there: no true frames"
        note = (f"{len(observed)} observed (from frame {at} of {what}) + {len(predicted)} predicted frames of "
                f"{pipe.resolution}x{pipe.resolution} px in {took:.2f} s{known}")
        return str(path), marked_picture(provenance, prediction_strip(observed, predicted, truth)), note

    @handler
    def predict_upload(value: str | None, path: str | None, asked: float | None, first: float | None,
                       rate: float | None, mark: bool | None = True) -> tuple[str, Any, str]:
        from pathlib import Path

        from ganforge.data.video import read_video

        pipe = ctx.pipeline(value, PIPELINES, "Predict")
        horizon = horizon_of(pipe, asked)
        _, width, height = check_clip(path, ctx.limits)
        name = Path(str(path)).name
        source = pipe.load_clip(read_video(str(path), resolution=pipe.resolution))  # [T, R, R, C] at the model's
        if len(source) > ctx.limits.max_frames:  # the header said otherwise: never more than the limit
            raise GanforgeError(f"the clip {name} has more than {ctx.limits.max_frames} frames; the studio takes at "
                                "most that many (cut it shorter)")
        what = name if (width, height) == (pipe.resolution,) * 2 else (
            f"{name}, its {width}x{height} px frames centre-cropped and resized")
        return show(pipe, source, what, horizon, first, rate, mark)

    @handler
    def predict_index(value: str | None, spec: str | None, asked: float | None, first: float | None,
                      rate: float | None, mark: bool | None = True) -> tuple[str, Any, str]:
        from ganforge.tasks.nextframe.pipeline import parse_clip_index

        pipe = ctx.pipeline(value, PIPELINES, "Predict")
        horizon = horizon_of(pipe, asked)
        spec = str(spec or "").strip()
        if parse_clip_index(spec) is None:
            raise GanforgeError(f"clip index {spec!r}: write test:7 (the run's own data) or NAME:SPLIT:INDEX such as "
                                "moving-mnist:test:7; to use a file, upload it in the other tab")
        source = pipe.load_clip(spec, min_frames=pipe.context_frames + horizon)
        return show(pipe, source, spec, horizon, first, rate, mark)

    button.click(predict_upload, [picker, clip, frames, start, fps, watermark], [animation, strip, status],
                 api_name="predict_clip", concurrency_id=MODEL_QUEUE)
    index_button.click(predict_index, [picker, index, frames, start, fps, watermark], [animation, strip, status],
                       api_name="predict_index", concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Predict", PIPELINES, build_predict_tab, order=50)]
