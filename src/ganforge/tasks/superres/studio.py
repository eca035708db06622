"""The studio's Upscale tab: an uploaded image through the superres pipeline (tiled as the pipeline tiles), shown
against a plain bicubic enlargement on a before/after slider."""

from __future__ import annotations

import time

import gradio as gr
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.imaging import to_pil
from ganforge.studio.context import StudioContext
from ganforge.studio.limits import check_pixels, read_upload
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import (
    MODEL_QUEUE,
    handler,
    image_upload,
    marked_picture,
    model_picker,
    studio_provenance,
    watermark_box,
)
from ganforge.tasks.superres.pipeline import DEFAULT_OVERLAP, DEFAULT_TILE

PIPELINES = ("superres",)


def build_upscale_tab(ctx: StudioContext) -> None:
    """Upload, upscale, compare."""
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES)
            source = image_upload(label="Input image", sources=["upload", "clipboard"])
            with gr.Row():
                tile = gr.Number(DEFAULT_TILE, precision=0, minimum=0, label="Tile (input px, 0 = whole image)")
                overlap = gr.Number(DEFAULT_OVERLAP, precision=0, minimum=0, label="Tile overlap (px)")
            watermark = watermark_box()
            button = gr.Button("Upscale", variant="primary")
        with gr.Column(scale=2):
            slider = gr.ImageSlider(label="Bicubic (left) | model (right)", format="png", type="pil",
                                    interactive=False)
            status = gr.Markdown()

    @handler
    def upscale(value: str | None, path: str | None, tile_px: float | None, overlap_px: float | None,
                mark: bool | None = True) -> tuple:
        pipe = ctx.pipeline(value, PIPELINES, "Upscale")
        array = read_upload(path, ctx.limits)
        h, w = array.shape[:2]
        check_pixels(w * pipe.scale, h * pipe.scale, ctx.limits.max_output_pixels, f"the x{pipe.scale} output",
                     " (upload a smaller image, or start the studio with a larger --max-pixels)")
        tile_px, overlap_px = int(tile_px or 0), int(overlap_px or 0)
        if tile_px < 0 or overlap_px < 0:
            raise GanforgeError(f"tile and overlap must be >= 0, got {tile_px} and {overlap_px}")
        start = time.perf_counter()
        out = pipe(array, tile=tile_px, tile_overlap=overlap_px, output_type="np", watermark=False)[0]
        took = time.perf_counter() - start
        before = to_pil(array).resize((out.shape[1], out.shape[0]), Image.Resampling.BICUBIC)
        provenance = studio_provenance(pipe, {"scale": pipe.scale, "tile": tile_px, "tile_overlap": overlap_px}, mark)
        after = marked_picture(provenance, out)
        return (before, after), f"{w}x{h} -> {out.shape[1]}x{out.shape[0]} px (x{pipe.scale}) in {took:.2f} s"

    button.click(upscale, [picker, source, tile, overlap, watermark], [slider, status], api_name="upscale",
                 concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Upscale", PIPELINES, build_upscale_tab, order=40)]
