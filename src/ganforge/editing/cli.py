"""`ganforge invert RUN IMAGE --out LATENT [--method optimize|pti|encoder]` and `ganforge edit RUN IMAGE
--direction sefa:K|ganspace:K|skin-tone:TONE|category:NAME|gender:G|digit:D --out PATH` (or `--strokes PAINT.png`, iGAN's constrained edit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer

from ganforge.cli.options import device_option, no_watermark_option, overwrite_option
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.outputs import check_output_file


def read_image(path: Path) -> np.ndarray:
    """uint8 [H, W, C] of an image file (EXIF orientation applied, alpha kept), as `translate` reads its inputs."""
    from ganforge.tasks.translation.pipeline import as_array

    return as_array(path)


def load_generator(run: Path, device: str, attribute_editors: bool = False):
    """An image generator (or, for `edit`, an attribute editor too), with a one-line error for anything else."""
    from ganforge.api import load

    pipe = load(run, device=resolve_device(device))
    kinds = ("image", "attribute") if attribute_editors else ("image",)
    if pipe.config.get("pipeline") not in kinds:
        raise GanforgeError(f"{run} is not an image generator (ganforge train image)"
                            + (" or an attribute editor (ganforge train attribute)" if attribute_editors else "")
                            + f"; {'edits' if attribute_editors else 'inversion'} take one")
    return pipe


def edit_with_editor(pipe, image: Path | None, direction: str | None, out: Path, sweep: bool,
                     no_watermark: bool) -> None:
    """`ganforge edit ATTRIBUTE_RUN IMAGE --direction VALUE`: the editor's one pass (a .gif: every value in turn)."""
    if image is None or direction is None:
        raise GanforgeError("an attribute editor takes IMAGE and --direction VALUE (one of "
                            f"{', '.join(pipe.class_names)}); it has no latents or strokes")
    values = pipe.class_names if sweep else [direction]
    pictures = np.stack([pipe(image, value, output_type="np", watermark=False)[0] for value in values])
    provenance = pipe.provenance({"source": image.name, "attribute": "sweep" if sweep else direction},
                                 not no_watermark, "edit")
    write_edit(provenance, pictures, out, sweep, 2, f"{len(values)}-frame sweep over {', '.join(values)} in {out}"
               if sweep else f"{pipe.config.get('attribute')} {direction} in {out}")


def write_edit(provenance, pictures: np.ndarray, out: Path, sweep: bool, fps: int, message: str) -> None:
    """The edit's picture (.png) or sweep (.gif), marked and with its metadata, and a line saying what was written."""
    from ganforge.imaging import save_animation, save_image

    if sweep:
        save_animation(provenance.mark(pictures), out, fps=fps, metadata=provenance.metadata())
    else:
        save_image(provenance.mark(pictures[0]), out, metadata=provenance.metadata())
    typer.echo(message)


def inverted(pipe, image: np.ndarray, steps: int, perceptual_weight: float, method: str = "optimize",
             tune_steps: int = 2000, encoder: Path | Any = None, tune_lr: float | None = None):
    """`invert` under a progress bar; `encoder` is a run path (loaded here) or an EncoderPipeline already loaded."""
    from ganforge.cli.progress import DataProgress
    from ganforge.editing.inversion import METHODS, TUNE_LR, invert

    if method not in METHODS:
        raise GanforgeError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if (method == "encoder") != (encoder is not None):
        raise GanforgeError("--method encoder takes --encoder ENCODER_RUN (from `ganforge train encoder`); the other "
                            "methods take no encoder")
    found = encoder
    if isinstance(encoder, Path):
        from ganforge.editing.encoder import load_encoder

        found = load_encoder(encoder, device=next(pipe.generator.parameters()).device)
    with DataProgress(f"inverting ({method})") as bar:
        return invert(pipe, image, steps=steps, perceptual_weight=perceptual_weight, progress=bar, method=method,
                      tune_steps=tune_steps, encoder=found, tune_lr=TUNE_LR if tune_lr is None else tune_lr)


def invert_command(
    run: Path = typer.Argument(..., help="image generator: run directory, checkpoint folder, export or zoo:NAME."),
    image: Path = typer.Argument(..., help="The image to project (any size: resized to the model's)."),
    out: Path = typer.Option(..., "--out", help="The latent (.safetensors); its reconstruction is written beside it "
                             "as the same name .png."),
    method: str = typer.Option("optimize", "--method", help="optimize: Adam on the latent (W+ for StyleGAN2, z "
                               "otherwise), pixel MSE + the Inception stem's perceptual L1. pti: the same, then a "
                               "copy of the generator tuned around that latent (highest fidelity; the tuned weights "
                               "are saved with the latent). encoder: an encoder's guess (--encoder), refined for "
                               "--steps (0: the encoder alone, fastest)."),
    steps: int = typer.Option(300, "--steps", min=0, help="Latent optimisation steps."),
    tune_steps: int = typer.Option(2000, "--tune-steps", min=0, help="pti: generator tuning steps."),
    tune_lr: float = typer.Option(1e-3, "--tune-lr", min=0.0, help="pti: Adam's learning rate for the tuning."),
    encoder: Path | None = typer.Option(None, "--encoder", help="encoder: the run of `ganforge train encoder` "
                                        "trained on this generator."),
    perceptual_weight: float = typer.Option(1.0, "--perceptual-weight", min=0.0, help="Weight of the perceptual "
                                            "term (0: pixels only)."),
    device: str = device_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Project an image into a generator (GAN inversion); `ganforge edit --latent` then edits it."""
    from ganforge.editing.inversion import save_latent
    from ganforge.imaging import save_image

    if out.suffix.lower() != ".safetensors":
        raise GanforgeError(f"--out is the latent file: give a .safetensors name, got {out.name!r}")
    picture = out.with_suffix(".png")
    check_output_file(out, [image], overwrite)
    check_output_file(picture, [image], overwrite)
    source = read_image(image)
    pipe = load_generator(run, device)
    result = inverted(pipe, source, steps, perceptual_weight, method, tune_steps, encoder, tune_lr)
    settings = {"image": image.name, "method": method, "steps": steps, "perceptual_weight": perceptual_weight}
    if method == "pti":
        settings.update(tune_steps=tune_steps, tune_lr=tune_lr)
    save_latent(result, pipe, out, settings)
    provenance = pipe.provenance(settings, not no_watermark, "invert")
    save_image(provenance.mark(result.reconstruction), picture, metadata=provenance.metadata())
    typer.echo(f"{result.space} latent in {out}, its image in {picture} (loss {result.losses[0]:.4f} -> "
               f"{result.losses[-1]:.4f})")


def edit_command(
    run: Path = typer.Argument(..., help="image generator (run directory, checkpoint folder, export or zoo:NAME), "
                               "or an attribute editor's run."),
    image: Path | None = typer.Argument(None, help="The image to edit (inverted first); or give --latent."),
    direction: str | None = typer.Option(None, "--direction", help="A generator: sefa:K, the K-th strongest SeFa "
                                         "direction, or ganspace:K, the K-th principal component of w (a unit of "
                                         "strength: one standard deviation), both from 0 and without labels; or an "
                                         "attribute: skin-tone (darker; a negative strength: lighter), "
                                         "skin-tone:TONE (light, medium-light, medium, medium-dark, dark), "
                                         "category:NAME (an emoji category, e.g. flags), gender:G (man, "
                                         "woman, person) or, for a digit generator, digit:D (0-9), by "
                                         "InterFaceGAN's boundary from the generator's samples (or --encoder's real "
                                         "images) labelled by the project's classifiers. An attribute editor (ganforge "
                                         "train attribute): the value to give the image (dark, 7, ...)."),
    out: Path = typer.Option(..., "--out", help="The edited image (.png), or a sweep from -strength to +strength "
                             "(.gif)."),
    strength: float = typer.Option(2.0, "--strength", help="sefa: how far to move along the direction; an "
                                   "attribute: where to land, in standard deviations of the samples' distance "
                                   "from its boundary (positive: has the attribute)."),
    keep: list[str] = typer.Option([], "--keep", help="An attribute the edit must leave alone (repeatable; "
                                   "InterFaceGAN's conditional manipulation; gender:none or skin-tone:none keeps "
                                   "a person drawn)."),
    samples: int = typer.Option(2000, "--samples", min=50, help="Samples labelled to fit an attribute's boundary."),
    encoder: Path | None = typer.Option(None, "--encoder", help="An encoder run of this generator (ganforge train "
                                        "encoder): inverts IMAGE, refined for --steps, and an attribute's boundary "
                                        "is fitted on real images of its training data, encoded, instead of on "
                                        "generator samples."),
    strokes: Path | None = typer.Option(None, "--strokes", help="iGAN's edit instead of a direction: an RGBA image "
                                        "(any size, scaled to the model's) whose opaque pixels are colours to "
                                        "paint; the latent moves until its image follows them and stays close "
                                        "elsewhere."),
    latent: Path | None = typer.Option(None, "--latent", help="A latent `ganforge invert` wrote (PTI's tuned "
                                       "generator with it), instead of IMAGE."),
    frames: int = typer.Option(16, "--frames", min=2, help="Frames of a .gif sweep."),
    steps: int = typer.Option(300, "--steps", min=1, help="Inversion steps when IMAGE is given (and of a strokes "
                              "edit)."),
    device: str = device_option(),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
) -> None:
    """Move an image (or an inverted latent) along an edit direction of its generator, or paint on it (iGAN)."""
    from ganforge.cli.progress import DataProgress
    from ganforge.editing.directions import edited, resolve_direction
    from ganforge.editing.inversion import follow_strokes, load_latent
    from ganforge.imaging import tensor_to_uint8

    if (image is None) == (latent is None):
        raise GanforgeError("give IMAGE (inverted first) or --latent LATENT.safetensors, not both")
    if (direction is None) == (strokes is None):
        raise GanforgeError("give --direction (sefa:K, ganspace:K, skin-tone:TONE, category:NAME, gender:G, "
                            "digit:D) or --strokes "
                            "PAINT.png, one of them")
    sweep = out.suffix.lower() == ".gif"
    if not sweep and out.suffix.lower() != ".png":
        raise GanforgeError(f"--out must be a .png (the edit) or a .gif (a sweep), got {out.name!r}")
    if sweep and strokes is not None:
        raise GanforgeError("a strokes edit writes one image: give --out a .png name")
    check_output_file(out, [p for p in (image, latent, strokes) if p is not None], overwrite)
    paint = read_image(strokes) if strokes is not None else None
    pipe = load_generator(run, device, attribute_editors=True)
    if pipe.config.get("pipeline") == "attribute":
        if latent is not None or strokes is not None or encoder is not None or keep:
            raise GanforgeError("an attribute editor takes IMAGE and --direction VALUE only (no --latent, --strokes, "
                                "--encoder or --keep)")
        return edit_with_editor(pipe, image, direction, out, sweep, no_watermark)
    found_encoder = None
    if encoder is not None:
        from ganforge.editing.encoder import load_encoder

        found_encoder = load_encoder(encoder, device=next(pipe.generator.parameters()).device)
        found_encoder.check_generator(pipe)
    d = None
    if direction is not None:
        with DataProgress("fitting the direction") as bar:
            d = resolve_direction(direction, pipe, samples=samples, keep=keep, progress=bar, encoder=found_encoder)
    if latent is not None:
        code, _, generator = load_latent(latent, pipe)
    else:
        found = inverted(pipe, read_image(image), steps, 1.0, "optimize" if encoder is None else "encoder",
                         encoder=found_encoder)
        code, generator = found.latent, found.generator
    settings = {"source": (image or latent).name, "direction": direction, "strength": strength}
    if paint is not None:
        with DataProgress("following the strokes") as bar:
            pictures = follow_strokes(pipe, code, paint, generator, steps=steps, progress=bar).reconstruction[None]
        settings = {"source": (image or latent).name, "strokes": strokes.name, "steps": steps}
    else:
        strengths = list(np.linspace(-strength, strength, frames)) if sweep else [float(strength)]
        pictures = tensor_to_uint8(edited(pipe, code, d, strengths, generator))
        if keep:
            settings["keep"] = list(keep)
    provenance = pipe.provenance(settings, not no_watermark, "edit")
    write_edit(provenance, pictures, out, sweep, 8, f"{frames}-frame sweep of {direction} from {-strength:g} to "
               f"{strength:g} in {out}" if sweep else
               f"{direction or 'strokes'}{'' if direction is None else f' at {strength:g}'} in {out}")


VERBS = {"invert": invert_command, "edit": edit_command}
