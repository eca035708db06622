"""`ganforge inpaint RUN IMAGE --mask MASK --out OUT`: fill the white part of MASK, or outpaint with --outpaint."""

from __future__ import annotations

from pathlib import Path

import typer

from ganforge.cli.options import device_option, no_watermark_option, overwrite_option, runtime_option
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.imaging import IMAGE_SUFFIXES
from ganforge.outputs import check_output_file


def check_canvas(image: Path, borders: tuple[int, int, int, int]) -> None:
    """Refuse, before any work, an outpainted canvas that cannot fit in memory (its image, mask and output)."""
    from PIL import Image

    from ganforge.memory import check_fits

    try:
        with Image.open(image) as im:  # the header only: nothing decoded yet
            width, height, channels = im.width, im.height, len(im.getbands())
    except (OSError, ValueError) as exc:
        raise GanforgeError(f"cannot read image {image}: {exc}") from None
    left, top, right, bottom = borders
    canvas = (width + left + right, height + top + bottom)
    check_fits(canvas[0] * canvas[1] * (2 * max(channels, 3) + 1), f"an outpainted canvas of {canvas[0]}x{canvas[1]}",
               "ask for narrower --outpaint bands")


def inpaint_command(
    run: Path = typer.Argument(..., help="inpaint run directory, checkpoint folder or exported model."),
    image: Path = typer.Argument(..., help="The image to fill (any size; grey, RGB or RGBA)."),
    out: Path = typer.Option(..., "--out", help="Output PNG (the image's size, or the extended canvas with --outpaint)."),
    mask: Path | None = typer.Option(None, "--mask", help="Mask PNG at the image's size: white = fill, black = keep."),
    outpaint: str | None = typer.Option(None, "--outpaint", help="L,T,R,B: pixels to add on the left, top, right and "
                                        "bottom and fill (with --mask, the image's own holes are filled too)."),
    device: str = device_option(),
    runtime: str = runtime_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Fill holes (inpainting) or extend the border (outpainting) with a trained inpaint model.

    Known pixels come back unchanged. An empty mask writes the input unchanged (with a note); a mask
    covering the whole image gives the model's guess from nothing (with a warning).
    """
    from ganforge.api import load
    from ganforge.tasks.inpaint.pipeline import InpaintPipeline, parse_borders

    if mask is None and outpaint is None:
        raise GanforgeError("give --mask MASK.png (white = fill) or --outpaint L,T,R,B, or both")
    borders = parse_borders(outpaint) if outpaint is not None else None
    if not image.is_file():
        raise GanforgeError(f"image {image} does not exist")
    if not out.suffix and not out.is_dir():  # a lossy format (.jpg) would change the known pixels: PNG unless asked
        out = out.with_suffix(".png")
    if out.suffix.lower() not in IMAGE_SUFFIXES and not out.is_dir():
        raise GanforgeError(f"--out must be an image file ({', '.join(IMAGE_SUFFIXES)}), got {out.name!r}")
    check_output_file(out, [image] + ([mask] if mask is not None else []), overwrite)
    if borders is not None:
        check_canvas(image, borders)
    pipe = load(run, device=resolve_device(device), runtime=runtime)
    if not isinstance(pipe, InpaintPipeline):
        raise GanforgeError(f"{run} is not an inpaint model (train one with `ganforge train inpaint`)")
    provenance = pipe.provenance({"input": image.name, "mask": mask.name if mask is not None else None,
                                  "outpaint": borders}, not no_watermark, "inpaint")
    height, width = pipe.inpaint_to_file(image, out, mask=mask, outpaint=borders,  # a .png streamed by bands
                                         provenance=provenance)
    typer.echo(f"{width}x{height} image in {out}")


VERBS = {"inpaint": inpaint_command}  # registered by cli/main.py through the task specs
