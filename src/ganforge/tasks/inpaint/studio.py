"""The studio's Inpaint tab: brush the hole over an uploaded image (or upload a mask), optionally add outpaint
bands, and fill through the inpaint pipeline, which keeps every known pixel as it was."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr
import numpy as np

from ganforge.errors import GanforgeError
from ganforge.imaging import to_pil
from ganforge.studio.context import StudioContext
from ganforge.studio.limits import check_pixels, read_upload
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import (
    MODEL_QUEUE,
    editor_background,
    handler,
    image_upload,
    marked_picture,
    mask_editor,
    model_picker,
    studio_provenance,
    watermark_box,
)

PIPELINES = ("inpaint",)
MAX_BAND = 512  # outpaint pixels on one side


def editor_image_and_mask(editor: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """The editor's background as uint8 RGB and its brushed layers as a bool mask (any painted pixel = fill)."""
    image = editor_background(editor, ", then brush over what to fill")
    h, w = image.shape[:2]
    mask = np.zeros((h, w), dtype=bool)
    for layer in (editor or {}).get("layers") or []:
        layer = np.asarray(layer)
        if layer.shape[:2] != (h, w):
            raise GanforgeError(f"a mask layer is {layer.shape[1]}x{layer.shape[0]} but the image is {w}x{h}")
        if layer.ndim == 3 and layer.shape[2] == 4:
            mask |= layer[..., 3] > 0  # brushed strokes: any painted pixel
        else:
            mask |= layer.reshape(h, w, -1).max(axis=2) > 127  # an opaque mask layer: white = fill
    return image, mask


def build_inpaint_tab(ctx: StudioContext) -> None:
    """Editor (image + brushed hole), optional mask file, outpaint bands; the filled image and the mask used."""
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES)
            editor = mask_editor(label="Image: brush over what to fill", type="numpy", image_mode="RGBA",
                                sources=["upload", "clipboard"], layers=False,
                                brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed"))
            mask_file = image_upload(label="Or a mask file (white = fill), the image's size", sources=["upload"], height=160)
            with gr.Accordion("Outpaint: extend the borders (pixels)", open=False):
                with gr.Row():
                    bands = [gr.Slider(0, MAX_BAND, value=0, step=4, label=side)
                             for side in ("left", "top", "right", "bottom")]
            watermark = watermark_box()
            button = gr.Button("Fill", variant="primary")
        with gr.Column(scale=1):
            result = gr.Image(label="Filled", format="png", type="pil", interactive=False)
            used = gr.Image(label="Mask used (white = filled)", format="png", type="pil", interactive=False, height=160)
            status = gr.Markdown()

    @handler
    def inpaint(value: str | None, edited: dict | None, mask_path: str | None, left: float, top: float,
                right: float, bottom: float, mark: bool | None = True) -> tuple[Any, Any, str]:
        pipe = ctx.pipeline(value, PIPELINES, "Inpaint")
        image, mask = editor_image_and_mask(edited)
        h, w = image.shape[:2]
        check_pixels(w, h, ctx.limits.max_pixels, "the image")
        if mask_path is not None:
            given = read_upload(mask_path, ctx.limits, "mask")
            if given.shape[:2] != (h, w):
                raise GanforgeError(f"the mask is {given.shape[1]}x{given.shape[0]} but the image is {w}x{h}: give "
                                    "a mask of the image's size (white = fill, black = keep)")
            mask |= given.max(axis=2) > 127
        borders = tuple(int(b or 0) for b in (left, top, right, bottom))
        if any(not 0 <= b <= MAX_BAND for b in borders):
            raise GanforgeError(f"outpaint bands must lie in 0..{MAX_BAND} pixels, got {borders}")
        outpaint = borders if any(borders) else None
        if outpaint is None and not mask.any():
            raise GanforgeError("nothing to fill: brush over part of the image, give a mask, or add outpaint bands")
        canvas = (w + borders[0] + borders[2], h + borders[1] + borders[3])
        check_pixels(*canvas, ctx.limits.max_pixels, "the outpainted canvas", " (ask for narrower bands)")
        start = time.perf_counter()
        out = pipe(image, mask=mask, outpaint=outpaint, output_type="np", watermark=False)[0]
        hole = np.zeros(out.shape[:2], dtype=bool)
        if outpaint is not None:
            hole[:] = True
            hole[borders[1] : borders[1] + h, borders[0] : borders[0] + w] = mask
        else:
            hole = mask
        filled = int(hole.sum())
        note = f"{out.shape[1]}x{out.shape[0]} px, {filled} pixels filled in {time.perf_counter() - start:.2f} s"
        provenance = studio_provenance(pipe, {"outpaint": outpaint}, mark)
        return marked_picture(provenance, out), to_pil(hole.astype(np.uint8) * 255), note

    button.click(inpaint, [picker, editor, mask_file, *bands, watermark], [result, used, status], api_name="inpaint",
                 concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Inpaint", PIPELINES, build_inpaint_tab, order=30)]
