"""`ganforge translate RUN INPUT... --out DIR`: one translated PNG per input image, same stem."""

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


def translate_command(
    run: Path = typer.Argument(..., help="pix2pix or cyclegan run directory, checkpoint folder or exported model."),
    inputs: list[Path] = typer.Argument(..., help="Image files and/or folders of images (searched recursively)."),
    out: Path = typer.Option(..., "--out", help="Folder for the outputs: one PNG per input, same stem."),
    direction: str = typer.Option("AtoB", "--direction", help="AtoB, or BtoA for a CycleGAN's second generator."),
    resize: bool = typer.Option(False, "--resize/--no-resize", help="Resize each image to the training resolution "
                                "and the output back, instead of padding to the network's stride and cropping."),
    device: str = device_option(),
    runtime: str = runtime_option(),
    strict: bool = strict_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Translate images with a trained pix2pix, SPADE or CycleGAN model (any size; RGBA alpha is kept)."""
    from ganforge.api import load
    from ganforge.imaging import save_image
    from ganforge.outputs import prepare_output_folder
    from ganforge.tasks.translation.pipeline import TranslationPipeline

    jobs = collect_inputs(inputs, out)
    pipe = load(run, device=resolve_device(device), runtime=runtime)
    if not isinstance(pipe, TranslationPipeline):
        raise GanforgeError(f"{run} is not a translation model (pix2pix or cyclegan); use `ganforge sample` for it")
    direction = pipe.check_direction(direction)
    prepare_output_folder(out, inputs, overwrite)
    provenance = pipe.provenance({"direction": direction, "resize": resize}, not no_watermark, "translate")

    def translate_one(src: Path, dst: Path) -> None:
        image = pipe(src, direction=direction, resize=resize or None, output_type="np", watermark=False)[0]
        save_image(provenance.mark(image), dst, metadata=provenance.metadata(input=src.name))

    done = process_each(jobs, translate_one, "translating", strict)
    typer.echo(f"{done} image{'s' if done != 1 else ''} in {out}")


VERBS = {"translate": translate_command}  # registered by cli/main.py through the task specs
