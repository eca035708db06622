"""The studio's Video tab: clips of a video generator (VGAN) for a seed, a range or a list, tiled into one GIF, and
the two-stream figure (each clip over its foreground, mask and static background). Both are written by the writer
`ganforge sample` uses for video runs (cli.py), into the studio's own folder."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ganforge.studio.context import StudioContext
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import MODEL_QUEUE, handler, model_picker, studio_provenance, watermark_box

PIPELINES = ("video",)


def build_video_tab(ctx: StudioContext) -> None:
    """Seeds -> a GIF of the clips in a grid; seeds -> the streams figure."""
    from ganforge.tasks.image.studio import parse_seeds
    from ganforge.tasks.video.cli import _write_clips

    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES)
            seeds = gr.Textbox("0-7", label="Seeds", info=f"a seed (5), a range (0-7) or a list (3, 7, 42); at most "
                               f"{ctx.limits.max_clips} clips")
            with gr.Row():
                columns = gr.Number(0, precision=0, minimum=0, label="Grid columns (0 = square)")
                fps = gr.Slider(1, 30, value=8, step=1, label="Frames per second")
            watermark = watermark_box()
            button = gr.Button("Sample clips", variant="primary")
            streams_button = gr.Button("Two-stream figure")
        with gr.Column(scale=2):
            animation = gr.Image(label="Clips (GIF)", type="filepath", interactive=False)
            figure = gr.Image(label="Per clip: the clip, its foreground, its mask (white = foreground), its background",
                              type="filepath", interactive=False)
            status = gr.Markdown()

    def described(pipe: Any, count: int, took: float) -> str:
        size = f"{pipe.resolution}x{pipe.resolution} px"
        return f"{count} clip{'s' if count != 1 else ''} of {pipe.frames} frames of {size} in {took:.2f} s"

    @handler
    def sample_clips(value: str | None, seed_text: str, ncol: float | None, rate: float | None,
                     mark: bool | None = True) -> tuple[str, str]:
        pipe = ctx.pipeline(value, PIPELINES, "Video")
        seed_list = parse_seeds(seed_text, ctx.limits.max_clips)
        nrow = min(int(ncol), len(seed_list)) if ncol else None
        start = time.perf_counter()
        provenance = studio_provenance(pipe, {"seeds": seed_text, "fps": max(1, int(rate or 8))}, mark)
        path = _write_clips(pipe, seed_list, ctx.output_path("clips.gif"), as_folder=False, fps=max(1, int(rate or 8)),
                            nrow=nrow, streams=False, overwrite=True, provenance=provenance)
        return path, described(pipe, len(seed_list), time.perf_counter() - start)

    @handler
    def streams(value: str | None, seed_text: str, mark: bool | None = True) -> tuple[str, str]:
        pipe = ctx.pipeline(value, PIPELINES, "Video")
        seed_list = parse_seeds(seed_text, ctx.limits.max_clips)
        start = time.perf_counter()
        provenance = studio_provenance(pipe, {"seeds": seed_text, "streams": True}, mark)
        path = _write_clips(pipe, seed_list, ctx.output_path("streams.png"), as_folder=False, fps=1, nrow=None,
                            streams=True, overwrite=True, provenance=provenance)
        return path, described(pipe, len(seed_list), time.perf_counter() - start) + ", with their streams"

    button.click(sample_clips, [picker, seeds, columns, fps, watermark], [animation, status], api_name="sample_clips",
                 concurrency_id=MODEL_QUEUE)
    streams_button.click(streams, [picker, seeds, watermark], [figure, status], api_name="streams",
                         concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Video", PIPELINES, build_video_tab, order=60)]
