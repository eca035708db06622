"""The studio's Paint labels tab (GauGAN's demo): paint a label map with the run's classes as brush colours, or
upload one, and render it with a label-map model (SPADE, or pix2pix trained on `labels:FOLDER`) through the
translation pipeline.

A run stores its number of classes (`num_labels`), not names or colours: class i is drawn in the colour the run's
training grids give it (`label_palette`), class 0 black. Gradio's brush offers exactly those colours, but its
strokes are anti-aliased (edge pixels blend into their neighbours), so every painted pixel is mapped to the nearest
class colour, and the label map actually rendered is shown beside the result. An uploaded map is class ids (a
single-channel PNG: L, P or I, as the `labels:` data are) or colours, mapped the same way."""

from __future__ import annotations

import html
import time
from typing import Any

import gradio as gr
import numpy as np

from ganforge.errors import GanforgeError
from ganforge.imaging import to_pil, to_unsigned
from ganforge.studio.catalogue import ModelEntry, model_spec
from ganforge.studio.context import StudioContext
from ganforge.studio.limits import check_pixels, read_upload
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import (
    MODEL_QUEUE,
    handler,
    image_upload,
    marked_picture,
    mask_editor,
    model_picker,
    studio_provenance,
    watermark_box,
)

PIPELINES = ("translation",)
CANVAS = 256  # side of the blank canvas, in pixels
CHUNK = 65_536  # distinct colours compared with the palette at a time (bounds the distance table's memory)
NOTE = ("Brushes paint the model's classes in the colours of its training grids. Strokes are anti-aliased, so each "
        "pixel is mapped to the nearest class colour; the map rendered is shown under the result.")


def takes_label_maps(entry: ModelEntry) -> bool:
    """A translation model whose input is a label map (its spec records num_labels)."""
    return model_spec(entry.value).get("num_labels") is not None


def class_colours(num_labels: int) -> np.ndarray:
    """uint8 [L, 3]: class i's colour, as the run's training grids show it."""
    from ganforge.tasks.translation.base import label_palette

    return to_unsigned(label_palette(num_labels)).numpy()


def nearest_class(rgb: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, int]:
    """uint8 [H, W, 3] -> (uint8 class ids [H, W] of the nearest colour, number of pixels not exactly a class
    colour). Distinct colours are compared, not pixels: a painting holds few."""
    assert rgb.ndim == 3 and rgb.shape[2] == 3, rgb.shape  # [H, W, 3]
    keys = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    unique, inverse = np.unique(keys.ravel(), return_inverse=True)
    palette = colours.astype(np.int64)[None]  # [1, L, 3]
    ids = np.empty(len(unique), dtype=np.uint8)
    exact = np.empty(len(unique), dtype=bool)
    for i in range(0, len(unique), CHUNK):
        part = unique[i : i + CHUNK].astype(np.int64)
        seen = np.stack([part >> 16, (part >> 8) & 255, part & 255], axis=1)[:, None]  # [U, 1, 3]
        distance = ((seen - palette) ** 2).sum(axis=2)  # [U, L]
        ids[i : i + CHUNK] = distance.argmin(axis=1)
        exact[i : i + CHUNK] = distance.min(axis=1) == 0
    return ids[inverse].reshape(rgb.shape[:2]), int((~exact[inverse]).sum())


def over_class_zero(array: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3 or 4] -> RGB [H, W, 3]: transparent pixels become class 0 (the unpainted canvas)."""
    if array.shape[2] != 4:
        return array
    alpha = array[..., 3:4].astype(np.float32) / 255
    rgb = array[..., :3].astype(np.float32) * alpha + colours[0].astype(np.float32) * (1 - alpha)
    return np.round(rgb).astype(np.uint8)


def label_ids(array: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, int]:
    """An uploaded or painted map, uint8 [H, W, C], as (class ids [H, W], pixels mapped to the nearest colour):
    one channel holds ids as they are; colours are mapped to the nearest class colour."""
    if array.shape[2] == 1:
        return array[..., 0], 0
    rgb = over_class_zero(array, colours)
    return nearest_class(rgb if rgb.shape[2] == 3 else np.repeat(rgb, 3, axis=2), colours)


def as_rgba(array: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 1, 3 or 4] -> [H, W, 4] (opaque where there was no alpha)."""
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[2] == 3:
        array = np.concatenate([array, np.full((*array.shape[:2], 1), 255, np.uint8)], axis=2)
    return array


def painted_map(editor: dict | None) -> np.ndarray:
    """The editor's picture as colours, uint8 [H, W, 4]: its composite, or its background with the layers over it."""
    from ganforge.tasks.translation.pipeline import as_array

    editor = editor or {}
    if editor.get("composite") is not None:
        return as_rgba(as_array(editor["composite"]))
    if editor.get("background") is None:
        raise GanforgeError("the canvas is empty: pick a model (its canvas starts as class 0) and paint, or upload "
                            "a label map in the other tab")
    picture = as_rgba(as_array(editor["background"])).copy()
    h, w = picture.shape[:2]
    for layer in editor.get("layers") or []:
        layer = as_rgba(as_array(layer))
        if layer.shape[:2] != (h, w):
            raise GanforgeError(f"a painted layer is {layer.shape[1]}x{layer.shape[0]} but the canvas is {w}x{h}")
        alpha = layer[..., 3:4].astype(np.float32) / 255
        picture[..., :3] = np.round(layer[..., :3] * alpha + picture[..., :3] * (1 - alpha)).astype(np.uint8)
        picture[..., 3:] = np.maximum(picture[..., 3:], layer[..., 3:])
    return picture


def legend(num_labels: int) -> str:
    """The classes as colour swatches (HTML)."""
    swatches = []
    for i, (r, g, b) in enumerate(class_colours(num_labels)):
        colour = f"#{r:02x}{g:02x}{b:02x}"
        swatches.append(f'<span style="display:inline-block;margin:2px 8px 2px 0"><span style="display:inline-block;'
                        f'width:14px;height:14px;background:{colour};border:1px solid #888;vertical-align:middle">'
                        f"</span> {i} <code>{html.escape(colour)}</code></span>")
    return f"<div><b>{num_labels} classes</b><br>{''.join(swatches)}</div>"


def build_paint_tab(ctx: StudioContext) -> None:
    """Canvas (brushes = classes) or a label-map file; the rendered image and the label map it was given."""
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES, label="Label-map model (SPADE)", accept=takes_label_maps)
            classes = gr.HTML()
            resize = gr.Checkbox(True, label="Render at the training resolution (the map resized there, the image "
                                 "back), instead of at the canvas's size")
            watermark = watermark_box()
            with gr.Tab("Paint"):
                canvas = mask_editor(label="Label map: paint with the class colours", type="numpy", image_mode="RGBA",
                                     sources=["upload", "clipboard"], layers=False, format="png",
                                     canvas_size=(CANVAS, CANVAS), brush=gr.Brush(colors=["#000000"],
                                                                                  color_mode="fixed"))
                gr.Markdown(NOTE)
                button = gr.Button("Render", variant="primary")
            with gr.Tab("Upload a label map"):
                upload = image_upload(label="Label map: a PNG of class ids (L, P or I) or of the class colours",
                                      sources=["upload", "clipboard"])
                upload_button = gr.Button("Render label map", variant="primary")
        with gr.Column(scale=1):
            result = gr.Image(label="Rendered", format="png", type="pil", interactive=False)
            used = gr.Image(label="Label map rendered (class colours)", format="png", type="pil", interactive=False,
                            height=200)
            status = gr.Markdown()

    def label_pipe(value: str | None) -> Any:
        pipe = ctx.pipeline(value, PIPELINES, "Paint labels")
        if pipe.num_labels is None:
            raise GanforgeError(f"{value} translates images, not label maps: the Paint labels tab takes SPADE runs "
                                "(ganforge train pix2pix --model spade --data labels:FOLDER); use the Translate tab")
        return pipe

    def render(value: str | None, array: np.ndarray, fit: bool, mark: bool | None) -> tuple[Any, Any, str]:
        pipe = label_pipe(value)
        h, w = array.shape[:2]
        check_pixels(w, h, ctx.limits.max_pixels, "the label map")
        colours = class_colours(pipe.num_labels)
        ids, mapped = label_ids(array, colours)
        if int(ids.max()) >= pipe.num_labels:
            raise GanforgeError(f"the label map holds class id {int(ids.max())}, but the model knows ids "
                                f"0..{pipe.num_labels - 1}: give a map of its classes (or of their colours)")
        start = time.perf_counter()
        out = pipe(ids, resize=True if fit else None, output_type="np", watermark=False)[0]
        took = time.perf_counter() - start
        provenance = studio_provenance(pipe, {"resize": bool(fit)}, mark)
        present = ", ".join(str(int(i)) for i in np.unique(ids))
        note = f"; {mapped} pixels off the palette mapped to the nearest class colour" if mapped else ""
        return (marked_picture(provenance, out), to_pil(colours[ids]),
                f"{w}x{h} px, classes {present}{note}, rendered in {took:.2f} s")

    @handler
    def paint(value: str | None, editor: dict | None, fit: bool, mark: bool | None = True) -> tuple[Any, Any, str]:
        return render(value, painted_map(editor), fit, mark)

    @handler
    def render_file(value: str | None, path: str | None, fit: bool, mark: bool | None = True) -> tuple[Any, Any, str]:
        return render(value, read_upload(path, ctx.limits, "label map", label_map=True), fit, mark)

    @handler
    def on_model(value: str | None) -> tuple[Any, Any]:
        if not value:
            return gr.update(), ""
        colours = class_colours(label_pipe(value).num_labels)
        hexes = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours]
        blank = np.broadcast_to(colours[0], (CANVAS, CANVAS, 3)).copy()
        brush = gr.Brush(colors=hexes, default_color=hexes[min(1, len(hexes) - 1)], color_mode="fixed")
        return gr.update(value=blank, brush=brush), legend(len(colours))

    picker.change(on_model, picker, [canvas, classes], api_visibility="private")
    if ctx.app is not None:
        ctx.app.load(on_model, picker, [canvas, classes], api_visibility="private")
    button.click(paint, [picker, canvas, resize, watermark], [result, used, status], api_name="paint_labels",
                 concurrency_id=MODEL_QUEUE)
    upload_button.click(render_file, [picker, upload, resize, watermark], [result, used, status],
                        api_name="render_label_map",
                        concurrency_id=MODEL_QUEUE)


PAINT_TAB = StudioTab("Paint labels", PIPELINES, build_paint_tab, order=25)
