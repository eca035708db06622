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
        lo = int(match.group(1))
        seeds.extend(range(lo, int(match.group(2) or lo) + 1))
    return seeds


def _class_arg(value: str | None) -> int | str | None:
    if value is None:
        return None
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
) -> None:
    """Generate images from a trained generator."""
    from ganforge.api import load
    from ganforge.imaging import make_grid, save_animation, save_image
    from ganforge.pipelines import ImageGenerationPipeline

    if n < 1:
        raise GanforgeError(f"--n must be at least 1, got {n}")
    pipe = load(run, device=device)
    if not isinstance(pipe, ImageGenerationPipeline):
        raise GanforgeError(f"{run} is not an image generator")
    seed_list = parse_seeds(seeds) if seeds else list(range(seed, seed + n))
    label = _class_arg(class_)
    if interpolate:
        if out.suffix.lower() not in (".gif", ".mp4", ".webm"):
            raise GanforgeError(f"--interpolate writes an animation: give --out walk.gif or walk.mp4, got {out}")
        walk_seeds = seed_list if seeds else seed_list[: max(2, min(len(seed_list), 4))]
        path = save_animation(pipe.latent_walk(walk_seeds, frames, label), out, fps=fps)
        typer.echo(str(path))
        return
    images = pipe(seeds=seed_list, class_label=label, output_type="np")
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
