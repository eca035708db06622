"""The studio's Edit tab: upload an image, then move it along an edit direction, paint colour strokes on it (iGAN),
or, with an attribute editor, give it an attribute. Image generators invert the image first (optimisation or PTI);
the reconstruction is shown beside the edit, so what the generator could not draw is plain to see."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr
import numpy as np

from ganforge.errors import GanforgeError
from ganforge.studio.context import StudioContext
from ganforge.studio.limits import check_pixels
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import (
    MODEL_QUEUE,
    editor_background,
    handler,
    marked_picture,
    mask_editor,
    model_picker,
    studio_provenance,
    watermark_box,
)

PIPELINES = ("image", "attribute")
MAX_STEPS = 1000
BOUNDARY_SAMPLES = 1000  # generator samples labelled to fit an attribute's boundary in the studio


def image_and_strokes(editor: dict | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The editor's background (uint8 RGB or grey) and its brushed strokes as one RGBA layer, or None when unpainted."""
    image = editor_background(editor, "")
    h, w = image.shape[:2]
    strokes = np.zeros((h, w, 4), dtype=np.uint8)
    for layer in (editor or {}).get("layers") or []:
        layer = np.asarray(layer)
        if layer.shape[:2] != (h, w) or layer.ndim != 3 or layer.shape[2] != 4:
            raise GanforgeError(f"a stroke layer must be RGBA of the image's size ({w}x{h}), got {layer.shape}")
        painted = layer[..., 3] > 0
        strokes[painted] = layer[painted]
    return image, (strokes if strokes[..., 3].any() else None)


def build_edit_tab(ctx: StudioContext) -> None:
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES, label="Generator or attribute editor")
            editor = mask_editor(label="Image (paint colour strokes on it for a strokes edit)", type="numpy",
                                 image_mode="RGBA", sources=["upload", "clipboard"], layers=False,
                                 brush=gr.Brush(colors=["#d62728", "#1f77b4", "#2ca02c", "#ffdd00", "#000000",
                                                        "#ffffff"], color_mode="defaults"))
            direction = gr.Textbox("sefa:0", label="Direction", info="a generator: sefa:K, ganspace:K, skin-tone:TONE, "
                                   "category:NAME, gender:G or digit:D; an attribute editor: the value (dark, 7, ...); ignored when "
                                   "strokes are painted")
            strength = gr.Slider(-6, 6, value=2, step=0.5, label="Strength")
            with gr.Row():
                method = gr.Radio(["optimize", "pti"], value="optimize", label="Inversion")
                steps = gr.Slider(1, MAX_STEPS, value=100, step=1, label="Steps")
            watermark = watermark_box()
            button = gr.Button("Edit", variant="primary")
        with gr.Column(scale=1):
            recon = gr.Image(label="Reconstruction", format="png", type="pil", interactive=False)
            result = gr.Image(label="Edited", format="png", type="pil", interactive=False)
            status = gr.Markdown()

    @handler
    def edit(value: str | None, painted: dict | None, text: str, amount: float, how: str, count: float,
             mark: bool | None = True) -> tuple[Any, Any, str]:
        from ganforge.editing.directions import edited, resolve_direction
        from ganforge.editing.inversion import follow_strokes, invert
        from ganforge.imaging import tensor_to_uint8

        pipe = ctx.pipeline(value, PIPELINES, "Edit")
        image, strokes = image_and_strokes(painted)
        check_pixels(image.shape[1], image.shape[0], ctx.limits.max_pixels, "the image")
        n = int(count or 1)
        if not 1 <= n <= MAX_STEPS:
            raise GanforgeError(f"steps must lie in 1..{MAX_STEPS}")
        began = time.perf_counter()
        if pipe.config.get("pipeline") == "attribute":
            out = pipe(image, text, output_type="np", watermark=False)[0]
            provenance = studio_provenance(pipe, {"attribute": text}, mark)
            return (None, marked_picture(provenance, out),
                    f"{pipe.config.get('attribute')} {text} in {time.perf_counter() - began:.2f} s")
        if how not in ("optimize", "pti"):
            raise GanforgeError(f"inversion must be optimize or pti, got {how!r}")
        found = invert(pipe, image, steps=n, method=how, tune_steps=n)
        if strokes is not None:
            out = follow_strokes(pipe, found.latent, strokes, found.generator, steps=n).reconstruction
            settings: dict[str, Any] = {"method": how, "steps": n, "strokes": True}
        else:
            d = resolve_direction(text, pipe, samples=BOUNDARY_SAMPLES)
            out = tensor_to_uint8(edited(pipe, found.latent, d, [float(amount)], found.generator))[0]
            settings = {"method": how, "steps": n, "direction": text, "strength": float(amount)}
        provenance = studio_provenance(pipe, settings, mark)
        what = "strokes followed" if strokes is not None else f"{text} at {float(amount):g}"
        return (marked_picture(provenance, found.reconstruction), marked_picture(provenance, out),
                f"inverted ({how}, {n} steps) and {what} in {time.perf_counter() - began:.2f} s")

    button.click(edit, [picker, editor, direction, strength, method, steps, watermark], [recon, result, status],
                 api_name="edit", concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Edit", PIPELINES, build_edit_tab, order=35)]
