"""The studio's Generate tab: a grid of samples from seeds (and a class, and truncation where the model has a w
space), and a GIF that walks between two seeds. Everything goes through the image pipeline."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr
import numpy as np

from ganforge.errors import GanforgeError
from ganforge.imaging import make_grid, save_animation
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

PIPELINES = ("image",)
EACH_CLASS = "(each class in turn)"
MAX_SEED = 2**32 - 1


def parse_seeds(text: str, limit: int) -> list[int]:
    """"0-15", "3, 7, 42" or "5" as a list of seeds; a one-line error for anything else or too many."""
    seeds: list[int] = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                first, last = (int(p) for p in part.split("-", 1))
                if last < first:
                    raise GanforgeError(f"seed range {part!r} runs backwards: write it low-high, e.g. 0-15")
                if last - first + 1 > limit:
                    raise GanforgeError(f"seed range {part!r} holds {last - first + 1} seeds; at most {limit} a grid")
                seeds.extend(range(first, last + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise GanforgeError(f"seeds {text!r}: write a seed (5), a range (0-15) or a list (3, 7, 42)") from None
    if not seeds:
        raise GanforgeError("give at least one seed: a seed (5), a range (0-15) or a list (3, 7, 42)")
    if len(seeds) > limit:
        raise GanforgeError(f"{len(seeds)} seeds asked for; the studio draws at most {limit} in one grid")
    bad = [s for s in seeds if not 0 <= s <= MAX_SEED]
    if bad:
        raise GanforgeError(f"seed {bad[0]} is out of range: seeds lie in 0..{MAX_SEED}")
    return seeds


def class_label(pipe: Any, choice: str | None) -> str | None:
    """The pipeline's class argument: None cycles through the classes (and is all an unconditional model takes)."""
    if not pipe.class_names or choice in (None, "", EACH_CLASS):
        return None
    return str(choice)


def has_w_space(pipe: Any) -> bool:
    return hasattr(pipe.generator, "mapping")


def build_generate_tab(ctx: StudioContext) -> None:
    """Seeds -> grid, two seeds -> GIF; the class and truncation controls follow the picked model."""
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, PIPELINES)
            seeds = gr.Textbox("0-15", label="Seeds", info="a seed (5), a range (0-15) or a list (3, 7, 42)")
            klass = gr.Dropdown([EACH_CLASS], value=EACH_CLASS, label="Class", visible=False, allow_custom_value=True)
            truncation = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Truncation (psi)", visible=False,
                                   info="below 1 trades variety for typical images (style-based models)")
            columns = gr.Number(0, precision=0, minimum=0, label="Grid columns (0 = square)")
            watermark = watermark_box()
            button = gr.Button("Generate", variant="primary")
        with gr.Column(scale=2):
            grid = gr.Image(label="Samples", format="png", type="pil", interactive=False)
            status = gr.Markdown()
    with gr.Accordion("Interpolate between two seeds", open=False):
        with gr.Row():
            seed_a = gr.Number(0, precision=0, minimum=0, label="From seed")
            seed_b = gr.Number(1, precision=0, minimum=0, label="To seed")
            frames = gr.Slider(2, ctx.limits.max_frames, value=30, step=1, label="Frames (there and back)")
            fps = gr.Slider(1, 50, value=15, step=1, label="Frames per second")
        walk_button = gr.Button("Make GIF")
        walk = gr.Image(label="Latent walk (GIF)", type="filepath", interactive=False)

    @handler
    def on_model(value: str | None) -> tuple[Any, Any]:
        if not value:
            return gr.update(visible=False), gr.update(visible=False)
        pipe = ctx.pipeline(value, PIPELINES, "Generate")
        names = pipe.class_names
        return (gr.update(choices=[EACH_CLASS, *names], value=EACH_CLASS, visible=bool(names)),
                gr.update(visible=has_w_space(pipe), value=1.0))

    @handler
    def generate(value: str | None, seed_text: str, choice: str | None, psi: float, ncol: float | None,
                 mark: bool | None = True) -> tuple:
        pipe = ctx.pipeline(value, PIPELINES, "Generate")
        seed_list = parse_seeds(seed_text, ctx.limits.max_images)
        psi = float(psi if psi is not None else 1.0)
        if psi != 1.0 and not has_w_space(pipe):
            raise GanforgeError("truncation needs a style-based model (stylegan2); leave it at 1 for this one")
        start = time.perf_counter()
        images = pipe(seeds=seed_list, class_label=class_label(pipe, choice), truncation=psi, output_type="np",
                      watermark=False)  # the grid is marked as one picture
        nrow = int(ncol) if ncol else None
        provenance = studio_provenance(pipe, {"seeds": seed_text, "class": class_label(pipe, choice),
                                              "truncation": psi}, mark)
        picture = marked_picture(provenance, make_grid(images, nrow=min(nrow, len(seed_list)) if nrow else None))
        h, w = images.shape[1:3]
        took = time.perf_counter() - start
        return picture, f"{len(seed_list)} image{'s' if len(seed_list) != 1 else ''} of {w}x{h} px in {took:.2f} s"

    @handler
    def interpolate(value: str | None, a: float, b: float, n_frames: float, rate: float, choice: str | None,
                    mark: bool | None = True) -> str:
        pipe = ctx.pipeline(value, PIPELINES, "Generate")
        first, last = parse_seeds(str(int(a or 0)), 1)[0], parse_seeds(str(int(b or 0)), 1)[0]
        if first == last:
            raise GanforgeError("pick two different seeds to walk between")
        count = int(n_frames)
        if not 2 <= count <= ctx.limits.max_frames:
            raise GanforgeError(f"frames must lie in 2..{ctx.limits.max_frames}, got {count}")
        label = class_label(pipe, choice)
        frames_out = pipe.latent_walk([first, last], frames=count, class_label=label, watermark=False)
        provenance = studio_provenance(pipe, {"seeds": f"{first},{last}", "class": label, "walk_frames": count}, mark)
        path = ctx.output_path(f"walk-{first}-{last}.gif")
        save_animation(provenance.mark(np.stack(frames_out)), path, fps=max(1, int(rate)),
                       metadata=provenance.metadata())
        return str(path)

    picker.change(on_model, picker, [klass, truncation], api_visibility="private")
    if ctx.app is not None:
        ctx.app.load(on_model, picker, [klass, truncation], api_visibility="private")
    button.click(generate, [picker, seeds, klass, truncation, columns, watermark], [grid, status], api_name="generate",
                 concurrency_id=MODEL_QUEUE)
    walk_button.click(interpolate, [picker, seed_a, seed_b, frames, fps, klass, watermark], walk,
                      api_name="interpolate", concurrency_id=MODEL_QUEUE)


TABS = [StudioTab("Generate", PIPELINES, build_generate_tab, order=10)]
