"""`ganforge translate RUN INPUT... --out DIR`: one translated PNG per input image, same stem."""

from __future__ import annotations

from pathlib import Path

import typer

from ganforge.cli.options import device_option
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def collect_inputs(inputs: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """(input file, output PNG) pairs: files as given, folders searched recursively for images, the
    output keeping the stem (and, under a folder, the sub-path). Clashing outputs are an error."""
    jobs: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(item).parts))
            if not found:
                raise GanforgeError(f"no images found in {item} (looked for {', '.join(_IMAGE_SUFFIXES)})")
            jobs += [(p, out / p.relative_to(item).with_suffix(".png")) for p in found]
        elif item.is_file():
            jobs.append((item, out / f"{item.stem}.png"))
        else:
            raise GanforgeError(f"input {item} does not exist: give image files or folders of images")
    seen: dict[Path, Path] = {}
    for src, dst in jobs:
        if dst in seen:
            raise GanforgeError(f"{seen[dst]} and {src} would both be written to {dst}: rename one or translate "
                                "them into different --out folders")
        seen[dst] = src
    return jobs


def translate_command(
    run: Path = typer.Argument(..., help="pix2pix or cyclegan run directory, checkpoint folder or exported model."),
    inputs: list[Path] = typer.Argument(..., help="Image files and/or folders of images (searched recursively)."),
    out: Path = typer.Option(..., "--out", help="Folder for the outputs: one PNG per input, same stem."),
    direction: str = typer.Option("AtoB", "--direction", help="AtoB, or BtoA for a CycleGAN's second generator."),
    resize: bool = typer.Option(False, "--resize/--no-resize", help="Resize each image to the training resolution "
                                "and the output back, instead of padding to the network's stride and cropping."),
    device: str = device_option(),
) -> None:
    """Translate images with a trained pix2pix, SPADE or CycleGAN model (any size; RGBA alpha is kept)."""
    from ganforge.api import load
    from ganforge.cli.progress import DataProgress
    from ganforge.imaging import save_image
    from ganforge.pipelines import TranslationPipeline

    jobs = collect_inputs(inputs, out)
    pipe = load(run, device=resolve_device(device))
    if not isinstance(pipe, TranslationPipeline):
        raise GanforgeError(f"{run} is not a translation model (pix2pix or cyclegan); use `ganforge sample` for it")
    direction = pipe.check_direction(direction)
    with DataProgress("translating") as bar:
        for i, (src, dst) in enumerate(jobs):
            array = pipe(src, direction=direction, resize=resize or None, output_type="np")[0]
            save_image(array, dst)
            bar(i + 1, len(jobs))
    typer.echo(f"{len(jobs)} image{'s' if len(jobs) != 1 else ''} in {out}")
