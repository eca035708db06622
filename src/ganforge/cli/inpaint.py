"""`ganforge inpaint RUN IMAGE --mask MASK --out OUT`: fill the white part of MASK, or outpaint with --outpaint."""

from __future__ import annotations

from pathlib import Path

import typer

from ganforge.cli.options import device_option
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError


def inpaint_command(
    run: Path = typer.Argument(..., help="inpaint run directory, checkpoint folder or exported model."),
    image: Path = typer.Argument(..., help="The image to fill (any size; grey, RGB or RGBA)."),
    out: Path = typer.Option(..., "--out", help="Output PNG (the image's size, or the extended canvas with --outpaint)."),
    mask: Path | None = typer.Option(None, "--mask", help="Mask PNG at the image's size: white = fill, black = keep."),
    outpaint: str | None = typer.Option(None, "--outpaint", help="L,T,R,B: pixels to add on the left, top, right and "
                                        "bottom and fill (with --mask, the image's own holes are filled too)."),
    device: str = device_option(),
) -> None:
    """Fill holes (inpainting) or extend the border (outpainting) with a trained inpaint model.

    Known pixels come back unchanged. An empty mask writes the input unchanged (with a note); a mask
    covering the whole image gives the model's guess from nothing (with a warning).
    """
    from ganforge.api import load
    from ganforge.imaging import save_image
    from ganforge.pipelines import InpaintPipeline
    from ganforge.pipelines.inpaint import parse_borders

    if mask is None and outpaint is None:
        raise GanforgeError("give --mask MASK.png (white = fill) or --outpaint L,T,R,B, or both")
    borders = parse_borders(outpaint) if outpaint is not None else None
    if not image.is_file():
        raise GanforgeError(f"image {image} does not exist")
    pipe = load(run, device=resolve_device(device))
    if not isinstance(pipe, InpaintPipeline):
        raise GanforgeError(f"{run} is not an inpaint model (train one with `ganforge train inpaint`)")
    array = pipe(image, mask=mask, outpaint=borders, output_type="np")[0]
    if not out.suffix:  # a lossy format (.jpg) would change the known pixels: PNG unless asked otherwise
        out = out.with_suffix(".png")
    save_image(array, out)
    typer.echo(f"{array.shape[1]}x{array.shape[0]} image in {out}")
