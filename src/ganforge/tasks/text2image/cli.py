"""`ganforge generate RUN "TEXT"... --out PATH`: images from sentences, as a grid (one row per sentence) or a folder."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import typer

from ganforge.cli.options import device_option, no_watermark_option, overwrite_option, runtime_option
from ganforge.cli.sample import SAMPLERS, STILL_SUFFIXES, SampleAsk
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.outputs import check_output_file, prepare_output_folder

CHUNK = 64  # images generated (and held) at a time


def generate_command(
    run: Path = typer.Argument(..., help="text2image run directory, checkpoint folder or exported model."),
    texts: list[str] = typer.Argument(..., help="One or more sentences, each in quotes: \"a red heart\"."),
    out: Path = typer.Option(..., "--out", help="A grid image (.png, .jpg, .webp; one row per sentence), or a folder "
                             "ending in / for one PNG per image."),
    n: int = typer.Option(1, "--n", min=1, help="Images per sentence."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first image; the next images count up from it."),
    nrow: int | None = typer.Option(None, "--nrow", min=1, help="Images per grid row [default: --n, or a square "
                                    "grid for one image per sentence]."),
    device: str = device_option(),
    runtime: str = runtime_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Draw images from sentences with a trained text2image model (marked, with the sentences in the metadata)."""
    from ganforge.api import load
    from ganforge.cli.progress import DataProgress
    from ganforge.imaging import grid_shape, paste_into_grid, save_image
    from ganforge.memory import check_fits
    from ganforge.tasks.text2image.pipeline import Text2ImagePipeline, check_prompts

    prompts = check_prompts(texts)
    as_folder = str(out).endswith(("/", "\\")) or out.is_dir() or out.suffix == ""
    if not as_folder:
        if out.suffix.lower() not in STILL_SUFFIXES:
            raise GanforgeError(f"--out must be an image file ({', '.join(STILL_SUFFIXES)}) or a folder ending in /, "
                                f"got {out}")
        check_output_file(out, overwrite=overwrite)
    pipe = load(run, device=resolve_device(device), runtime=runtime)
    if not isinstance(pipe, Text2ImagePipeline):
        raise GanforgeError(f"{run} is not a text-to-image model (train one with `ganforge train text2image`)")
    jobs = [(p, text, seed + p * n + i) for p, text in enumerate(prompts) for i in range(n)]
    provenance = pipe.provenance({"prompts": prompts, "n": n, "seed": seed}, not no_watermark, "generate")
    h = w = pipe.resolution
    c = pipe.channels
    if as_folder:
        prepare_output_folder(out, overwrite=overwrite)
    else:
        nrow = nrow or (n if n > 1 else max(1, math.ceil(math.sqrt(len(jobs)))))
        check_fits(2 * math.prod(grid_shape(len(jobs), h, w, c, nrow)), f"a grid of {len(jobs)} images of {w}x{h}",
                   f"write them to a folder (--out {out.with_suffix('')}/) or ask for fewer")
        grid = np.full(grid_shape(len(jobs), h, w, c, nrow), 255, dtype=np.uint8)
    with DataProgress("generating") as bar:
        for first in range(0, len(jobs), CHUNK):
            chunk = jobs[first : first + CHUNK]
            images = pipe([text for _, text, _ in chunk], seeds=[s for _, _, s in chunk], output_type="np",
                          watermark=False)  # marked below, with the metadata's time
            if as_folder:
                for (p, text, s), image in zip(chunk, images):
                    save_image(provenance.mark(image), out / f"prompt{p:03d}-seed{s:06d}.png",
                               metadata=provenance.metadata(seed=s, prompt=text))
            else:
                paste_into_grid(grid, images, first, nrow)
            bar(first + len(chunk), len(jobs))
    if as_folder:
        typer.echo(f"{len(jobs)} images in {out}")
    else:
        typer.echo(str(save_image(provenance.mark(grid), out, metadata=provenance.metadata())))


@SAMPLERS.register("text2image")
def _sample_text2image(pipe, ask: SampleAsk) -> str:
    raise GanforgeError(f"{ask.run} draws images from sentences: ganforge generate {ask.run} \"a red heart\" "
                        f"--out {ask.out}")


VERBS = {"generate": generate_command}  # registered by cli/main.py through the task specs
