"""The studio's Generate-from-text tab: sentences in, a grid out (one row per sentence), through the text2image
pipeline."""

from __future__ import annotations

import time

import gradio as gr

from ganforge.errors import GanforgeError
from ganforge.imaging import make_grid
from ganforge.studio.context import StudioContext
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import (
    MODEL_QUEUE,
    handler,
    marked_picture,
    model_picker,
    studio_provenance,
    watermark_box,
)
from ganforge.tasks.image.studio import MAX_SEED

PIPELINES = ("text2image",)


def sentences(text: str) -> list[str]:
    """One sentence per non-empty line."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if not lines:
        raise GanforgeError("write at least one sentence, one per line (e.g. a red heart)")
    return lines


def build_text_tab(ctx: StudioContext) -> None:
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES)
            prompts = gr.Textbox("a red heart\ngrinning face", lines=4, label="Sentences", info="one per line")
            per = gr.Slider(1, 16, value=4, step=1, label="Images per sentence")
            seed = gr.Number(0, precision=0, minimum=0, label="First seed", info="the next images count up from it")
            watermark = watermark_box()
            button = gr.Button("Generate", variant="primary")
        with gr.Column(scale=2):
            grid = gr.Image(label="Images (a row per sentence)", format="png", type="pil", interactive=False)
            status = gr.Markdown()

    @handler
    def generate(value: str | None, text: str, n: float, first: float, mark: bool | None = True) -> tuple:
        pipe = ctx.pipeline(value, PIPELINES, "Generate from text")
        lines, count = sentences(text), int(n or 1)
        if len(lines) * count > ctx.limits.max_images:
            raise GanforgeError(f"{len(lines)} sentences x {count} images is more than the studio's "
                                f"{ctx.limits.max_images} a grid")
        start = int(first or 0)
        if not 0 <= start <= MAX_SEED - len(lines) * count:
            raise GanforgeError(f"the first seed must lie in 0..{MAX_SEED - len(lines) * count}")
        began = time.perf_counter()
        images = pipe(lines, n=count, seed=start, output_type="np", watermark=False)  # the grid is marked whole
        provenance = studio_provenance(pipe, {"prompts": lines, "n": count, "seed": start}, mark)
        picture = marked_picture(provenance, make_grid(images, nrow=count))
        h, w = images.shape[1:3]
        return picture, (f"{len(lines)} sentence{'s' if len(lines) != 1 else ''} x {count}: {len(images)} images of "
                         f"{w}x{h} px in {time.perf_counter() - began:.2f} s")

    button.click(generate, [picker, prompts, per, seed, watermark], [grid, status], api_name="generate_text",
                 concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Generate from text", PIPELINES, build_text_tab, order=15)]
