"""`ganforge invert RUN IMAGE --out LATENT` and `ganforge edit RUN IMAGE --direction sefa:K --out PATH`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from ganforge.cli.options import device_option, no_watermark_option, overwrite_option
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.outputs import check_output_file

METHODS = ("optimize",)  # the encoder (e4e-style) and PTI come later (issue 31)


def read_image(path: Path) -> np.ndarray:
    """uint8 [H, W, C] of an image file (EXIF orientation applied, alpha kept), as `translate` reads its inputs."""
    from ganforge.tasks.translation.pipeline import as_array

    return as_array(path)


def load_generator(run: Path, device: str):
    from ganforge.api import load

    pipe = load(run, device=resolve_device(device))
    if pipe.config.get("pipeline") != "image":
        raise GanforgeError(f"{run} is not an image generator (ganforge train image); inversion and edits take one")
    return pipe


def inverted(pipe, image: np.ndarray, steps: int, perceptual_weight: float):
    from ganforge.cli.progress import DataProgress
    from ganforge.editing.inversion import invert

    with DataProgress("inverting") as bar:
        return invert(pipe, image, steps=steps, perceptual_weight=perceptual_weight, progress=bar)


def invert_command(
    run: Path = typer.Argument(..., help="image generator: run directory, checkpoint folder, export or zoo:NAME."),
    image: Path = typer.Argument(..., help="The image to project (any size: resized to the model's)."),
    out: Path = typer.Option(..., "--out", help="The latent (.safetensors); its reconstruction is written beside it "
                             "as the same name .png."),
    method: str = typer.Option("optimize", "--method", help="optimize: Adam on the latent (W+ for StyleGAN2, z "
                               "otherwise), pixel MSE + the Inception stem's perceptual L1."),
    steps: int = typer.Option(300, "--steps", min=1, help="Optimisation steps."),
    perceptual_weight: float = typer.Option(1.0, "--perceptual-weight", min=0.0, help="Weight of the perceptual "
                                            "term (0: pixels only)."),
    device: str = device_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Project an image into a generator (GAN inversion); `ganforge edit --latent` then edits it."""
    from ganforge.editing.inversion import save_latent
    from ganforge.imaging import save_image

    if method not in METHODS:
        raise GanforgeError(f"--method must be one of {', '.join(METHODS)} (the encoder and PTI are not built yet), "
                            f"got {method!r}")
    if out.suffix.lower() != ".safetensors":
        raise GanforgeError(f"--out is the latent file: give a .safetensors name, got {out.name!r}")
    picture = out.with_suffix(".png")
    check_output_file(out, [image], overwrite)
    check_output_file(picture, [image], overwrite)
    source = read_image(image)
    pipe = load_generator(run, device)
    result = inverted(pipe, source, steps, perceptual_weight)
    settings = {"image": image.name, "method": method, "steps": steps, "perceptual_weight": perceptual_weight}
    save_latent(result, pipe, out, settings)
    provenance = pipe.provenance(settings, not no_watermark, "invert")
    save_image(provenance.mark(result.reconstruction), picture, metadata=provenance.metadata())
    typer.echo(f"{result.space} latent in {out}, its image in {picture} (loss {result.losses[0]:.4f} -> "
               f"{result.losses[-1]:.4f})")


def edit_command(
    run: Path = typer.Argument(..., help="image generator: run directory, checkpoint folder, export or zoo:NAME."),
    image: Path | None = typer.Argument(None, help="The image to edit (inverted first); or give --latent."),
    direction: str = typer.Option(..., "--direction", help="sefa:K, the K-th strongest SeFa direction (from 0)."),
    out: Path = typer.Option(..., "--out", help="The edited image (.png), or a sweep from -strength to +strength "
                             "(.gif)."),
    strength: float = typer.Option(2.0, "--strength", help="How far to move along the direction."),
    latent: Path | None = typer.Option(None, "--latent", help="A latent `ganforge invert` wrote, instead of IMAGE."),
    frames: int = typer.Option(16, "--frames", min=2, help="Frames of a .gif sweep."),
    steps: int = typer.Option(300, "--steps", min=1, help="Inversion steps when IMAGE is given."),
    device: str = device_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Move an image (or an inverted latent) along an edit direction of its generator."""
    from ganforge.editing.directions import edited, parse_direction
    from ganforge.editing.inversion import load_latent
    from ganforge.imaging import save_animation, save_image, tensor_to_uint8

    if (image is None) == (latent is None):
        raise GanforgeError("give IMAGE (inverted first) or --latent LATENT.safetensors, not both")
    sweep = out.suffix.lower() == ".gif"
    if not sweep and out.suffix.lower() != ".png":
        raise GanforgeError(f"--out must be a .png (the edit) or a .gif (a sweep), got {out.name!r}")
    check_output_file(out, [p for p in (image, latent) if p is not None], overwrite)
    pipe = load_generator(run, device)
    d = parse_direction(direction, pipe.generator)
    if latent is not None:
        code, _ = load_latent(latent, pipe)
    else:
        code = inverted(pipe, read_image(image), steps, 1.0).latent
    strengths = list(np.linspace(-strength, strength, frames)) if sweep else [float(strength)]
    pictures = tensor_to_uint8(edited(pipe, code, d, strengths))
    settings = {"source": (image or latent).name, "direction": direction, "strength": strength}
    provenance = pipe.provenance(settings, not no_watermark, "edit")
    if sweep:
        save_animation(provenance.mark(pictures), out, fps=8, metadata=provenance.metadata())
        typer.echo(f"{frames}-frame sweep of {direction} from {-strength:g} to {strength:g} in {out}")
    else:
        save_image(provenance.mark(pictures[0]), out, metadata=provenance.metadata())
        typer.echo(f"{direction} at {strength:g} in {out}")


VERBS = {"invert": invert_command, "edit": edit_command}
