"""The studio's Translate tab, shared by pix2pix and cyclegan: an uploaded image (any size) or a drawing on the
sketch pad (edges-to-emoji) through the translation pipeline, in the model's direction or a CycleGAN's reverse."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from ganforge.errors import GanforgeError
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
from ganforge.tasks.translation.studio_paint import PAINT_TAB

PIPELINES = ("translation",)
SKETCH_SIZE = 256  # the sketch pad's canvas, in pixels


def sketch_array(editor: dict | None) -> Any:
    """The sketch pad's drawing as uint8 RGB [H, W, 3], strokes on white."""
    from ganforge.tasks.translation.pipeline import as_array, split_alpha

    composite = (editor or {}).get("composite")
    if composite is None:
        raise GanforgeError("the sketch pad is empty: draw something first")
    array = as_array(composite)
    return split_alpha(array)[0] if array.shape[2] == 4 else array


def build_translate_tab(ctx: StudioContext) -> None:
    """Upload or draw, pick a direction, translate."""
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES)
            direction = gr.Radio(["AtoB", "BtoA"], value="AtoB", label="Direction",
                                 info="BtoA needs a CycleGAN (its second generator)")
            resize = gr.Checkbox(False, label="Resize to the training resolution (and back) instead of padding")
            watermark = watermark_box()
            with gr.Tab("Upload"):
                source = image_upload(label="Input image", sources=["upload", "clipboard"])
                button = gr.Button("Translate", variant="primary")
            with gr.Tab("Draw"):
                sketch = gr.Sketchpad(label="Sketch (edges in, e.g. edges-to-emoji)", type="numpy",
                                      canvas_size=(SKETCH_SIZE, SKETCH_SIZE), image_mode="RGBA")
                sketch_button = gr.Button("Translate drawing", variant="primary")
        with gr.Column(scale=1):
            result = gr.Image(label="Translated", format="png", type="pil", interactive=False)
            status = gr.Markdown()

    def run(value: str | None, image: Any, way: str, fit: bool, mark: bool | None) -> tuple[Any, str]:
        pipe = ctx.pipeline(value, PIPELINES, "Translate")
        way = pipe.check_direction(way or "AtoB")
        start = time.perf_counter()
        out = pipe(image, direction=way, resize=True if fit else None, output_type="np", watermark=False)[0]
        h, w = out.shape[:2]
        provenance = studio_provenance(pipe, {"direction": way, "resize": bool(fit)}, mark)
        return marked_picture(provenance, out), f"{w}x{h} px, {way}, in {time.perf_counter() - start:.2f} s"

    @handler
    def translate(value: str | None, path: str | None, way: str, fit: bool, mark: bool | None = True
                  ) -> tuple[Any, str]:
        return run(value, read_upload(path, ctx.limits), way, fit, mark)

    @handler
    def translate_sketch(value: str | None, editor: dict | None, way: str, fit: bool, mark: bool | None = True
                         ) -> tuple[Any, str]:
        array = sketch_array(editor)
        check_pixels(array.shape[1], array.shape[0], ctx.limits.max_pixels, "the sketch")
        return run(value, array, way, fit, mark)

    @handler
    def on_model(value: str | None) -> Any:
        if not value:
            return gr.update()
        directions = ctx.pipeline(value, PIPELINES, "Translate").directions
        return gr.update(choices=directions, value=directions[0])

    picker.change(on_model, picker, direction, api_visibility="private")
    button.click(translate, [picker, source, direction, resize, watermark], [result, status], api_name="translate",
                 concurrency_id=MODEL_QUEUE)
    sketch_button.click(translate_sketch, [picker, sketch, direction, resize, watermark], [result, status],
                        api_name="translate_sketch", concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Translate", PIPELINES, build_translate_tab, order=20), PAINT_TAB]  # Paint labels: studio_paint.py
