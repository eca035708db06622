"""`ganforge upscale RUN IMAGE... --out OUT`: super-resolve images with a trained superres model.

One input file and an OUT ending in an image suffix writes that file; otherwise OUT is a folder that gets
one PNG per input, same stem (folders of inputs are searched recursively, as `translate` does).
"""

from __future__ import annotations

from pathlib import Path

import typer

from ganforge.cli.inputs import collect_inputs, process_each
from ganforge.cli.options import (
    device_option,
    no_watermark_option,
    overwrite_option,
    runtime_option,
    strict_option,
)
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.imaging import IMAGE_SUFFIXES
from ganforge.tasks.superres.pipeline import DEFAULT_OVERLAP, DEFAULT_TILE


def upscale_command(
    run: Path = typer.Argument(..., help="superres run directory, checkpoint folder or exported model."),
    inputs: list[Path] = typer.Argument(..., help="Image files and/or folders of images (any size; RGB, RGBA, grey)."),
    out: Path = typer.Option(..., "--out", help="Output PNG for a single input, or a folder: one PNG per input, same stem."),
    tile: int = typer.Option(DEFAULT_TILE, "--tile", help="Tile side in input pixels, so memory stays bounded on large "
                             "images (0 = the whole image at once)."),
    tile_overlap: int = typer.Option(DEFAULT_OVERLAP, "--tile-overlap", help="Input pixels neighbouring tiles share; "
                                     "blended with linear (feathered) weights."),
    device: str = device_option(),
    runtime: str = runtime_option(),
    strict: bool = strict_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Upscale images x2 or x4 (the model's scale) with a trained superres model, tile by tile."""
    from ganforge.api import load
    from ganforge.outputs import check_output_file, prepare_output_folder
    from ganforge.tasks.superres.pipeline import UpscalePipeline

    if tile < 0 or tile_overlap < 0:
        raise GanforgeError(f"--tile and --tile-overlap must be >= 0, got {tile} and {tile_overlap}")
    one_file = len(inputs) == 1 and inputs[0].is_file() and out.suffix.lower() in IMAGE_SUFFIXES
    if one_file:
        jobs = [(inputs[0], check_output_file(out, inputs, overwrite))]
    else:
        jobs = collect_inputs(inputs, out)
    pipe = load(run, device=resolve_device(device), runtime=runtime)
    if not isinstance(pipe, UpscalePipeline):
        raise GanforgeError(f"{run} is not a superres model; `ganforge translate` or `sample` may fit it")
    if not one_file:
        prepare_output_folder(out, inputs, overwrite)

    provenance = pipe.provenance({"scale": pipe.scale, "tile": tile, "tile_overlap": tile_overlap},
                                 not no_watermark, "upscale")

    def upscale_one(src: Path, dst: Path) -> None:  # a .png streamed band by band
        pipe.upscale_to_file(src, dst, tile, tile_overlap, provenance=provenance.with_settings(input=src.name))

    done = process_each(jobs, upscale_one, "upscaling", strict)
    where = jobs[0][1] if len(jobs) == 1 else out
    typer.echo(f"{done} image{'s' if done != 1 else ''} upscaled x{pipe.scale} to {where}")


VERBS = {"upscale": upscale_command}  # registered by cli/main.py through the task specs
