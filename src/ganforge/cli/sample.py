"""`ganforge sample RUN`: a grid, a folder of images, or a latent-walk animation."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from ganforge.errors import GanforgeError


def parse_seeds(text: str) -> list[int]:
    """'0-63' or '1,5,9' or '0-3,10' -> list of non-negative ints."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match or (match.group(2) and int(match.group(2)) < int(match.group(1))):
            raise GanforgeError(f"--seeds must look like 0-63 or 1,5,9, got {text!r}")
        lo, hi = int(match.group(1)), int(match.group(2) or match.group(1))
        if hi >= 2**63 or hi - lo >= 1_000_000:
            raise GanforgeError(f"--seeds must lie below 2**63 and span at most a million, got {part!r}")
        seeds.extend(range(lo, hi + 1))
    return seeds


def check_device(device: str) -> str:
    """A device string torch understands and this machine has, or a one-line error."""
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise GanforgeError(f"--device {device!r} is not a device: use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanforgeError(f"--device {device} asked for, but this machine has no CUDA GPU: use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise GanforgeError(f"--device {device}: only {torch.cuda.device_count()} GPU(s) here")
    return device


def _class_arg(value: str | None, class_names: list[str]) -> int | str | None:
    """A class name if the model has one by that text (folders named '2021'), else an index."""
    if value is None or value in class_names:
        return value
    return int(value) if value.lstrip("-").isdigit() else value


def sample_command(
    run: Path = typer.Argument(..., help="Run directory, checkpoint folder or exported model directory."),
    n: int = typer.Option(64, "--n", help="Number of images (ignored with --seeds)."),
    out: Path = typer.Option(Path("samples.png"), "--out", help="grid.png, a folder (DIR/) for one PNG each, or walk.gif/.mp4 with --interpolate."),
    seed: int = typer.Option(0, "--seed", help="First seed; images use seeds seed..seed+n-1."),
    seeds: str | None = typer.Option(None, "--seeds", help="Explicit seeds, e.g. 0-63 or 1,5,9."),
    class_: str | None = typer.Option(None, "--class", help="Class index or name for a conditional model [default: cycle through classes]."),
    interpolate: bool = typer.Option(False, "--interpolate", help="Write a looping latent walk through the seeds as an animation."),
    frames: int = typer.Option(60, "--frames", help="Frames in the latent walk."),
    fps: int = typer.Option(20, "--fps", help="Frames per second of the animation."),
    nrow: int | None = typer.Option(None, "--nrow", help="Images per grid row [default: square]."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
    truncation: float = typer.Option(1.0, "--truncation", help="Truncation psi for style-based models (1 = none, 0 = the average image)."),
) -> None:
    """Generate images from a trained generator."""
    from ganforge.api import load
    from ganforge.imaging import make_grid, save_animation, save_image
    from ganforge.pipelines import ImageGenerationPipeline

    if n < 1:
        raise GanforgeError(f"--n must be at least 1, got {n}")
    if fps < 1 or frames < 2:
        raise GanforgeError(f"--fps must be at least 1 and --frames at least 2, got {fps} and {frames}")
    if nrow is not None and nrow < 1:
        raise GanforgeError(f"--nrow must be at least 1, got {nrow}")
    pipe = load(run, device=check_device(device))
    if not isinstance(pipe, ImageGenerationPipeline):
        raise GanforgeError(f"{run} is not an image generator")
    seed_list = parse_seeds(seeds) if seeds else list(range(seed, seed + n))
    label = _class_arg(class_, pipe.class_names)
    if interpolate:
        if out.suffix.lower() not in (".gif", ".mp4", ".webm"):
            raise GanforgeError(f"--interpolate writes an animation: give --out walk.gif or walk.mp4, got {out}")
        walk_seeds = seed_list if seeds else seed_list[: max(2, min(len(seed_list), 4))]
        path = save_animation(pipe.latent_walk(walk_seeds, frames, label), out, fps=fps)
        typer.echo(str(path))
        return
    images = pipe(seeds=seed_list, class_label=label, output_type="np", truncation=truncation)
    as_folder = str(out).endswith(("/", "\\")) or out.is_dir() or out.suffix == ""
    if as_folder:
        out.mkdir(parents=True, exist_ok=True)
        for s, img in zip(seed_list, images):
            save_image(img, out / f"seed{s:06d}.png")
        typer.echo(f"{len(images)} images in {out}")
        return
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise GanforgeError(f"--out must be an image file (.png, .jpg, .webp) or a folder ending in /, got {out}")
    typer.echo(str(save_image(make_grid(images, nrow=nrow), out)))
