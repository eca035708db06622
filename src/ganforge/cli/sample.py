"""`ganforge sample RUN`: a grid, a folder of images, or a latent-walk animation; clips from a video run."""

from __future__ import annotations

import math
import re
from pathlib import Path

import typer

from ganforge.cli.options import device_option, old_name, renamed
from ganforge.devices import resolve_device
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


def _class_arg(value: str | None, class_names: list[str]) -> int | str | None:
    """A class name if the model has one by that text (folders named '2021'), else an index."""
    if value is None or value in class_names:
        return value
    return int(value) if value.lstrip("-").isdigit() else value


def conditional_grid(n: int, nrow: int | None, num_classes: int) -> tuple[list[int], int]:
    """Labels and images per row for a conditional grid: one class per row (rows cycle through the classes);
    without --nrow, rows are sized so every class gets one. A grid with fewer rows than classes cycles per image."""
    per_row = nrow or max(1, math.ceil(n / num_classes))
    if math.ceil(n / per_row) < num_classes:
        return [i % num_classes for i in range(n)], per_row
    return [(i // per_row) % num_classes for i in range(n)], per_row


def sample_command(
    run: Path = typer.Argument(..., help="Run directory, checkpoint folder or exported model directory."),
    n: int = typer.Option(64, "--n", help="Number of images or clips (ignored with --seeds)."),
    out: Path = typer.Option(Path("samples.png"), "--out", help="grid.png, a folder (DIR/) for one PNG each, or walk.gif/.mp4 with --interpolate. Video runs: clips.gif/.mp4 (one animation, the clips tiled in a grid), a folder (DIR/) for one GIF per clip, or strip.png (a row of frames per clip)."),
    seed: int = typer.Option(0, "--seed", help="First seed; images use seeds seed..seed+n-1."),
    seeds: str | None = typer.Option(None, "--seeds", help="Explicit seeds, e.g. 0-63 or 1,5,9."),
    class_: str | None = typer.Option(None, "--class", help="Class index or name for a conditional model [default: one grid row per class, cycling]."),
    interpolate: bool = typer.Option(False, "--interpolate", help="Write a looping latent walk through the seeds as an animation."),
    walk_frames: int | None = typer.Option(None, "--walk-frames", help="Frames in the latent walk of --interpolate [default: 60] (a video run makes the clip length it was trained on). (old name: --frames)"),
    frames: int | None = old_name("--frames"),
    fps: int = typer.Option(20, "--fps", help="Frames per second of the animation."),
    nrow: int | None = typer.Option(None, "--nrow", help="Images per grid row [default: square]."),
    device: str = device_option(),
    truncation: float = typer.Option(1.0, "--truncation", help="Truncation psi for style-based models (1 = none, 0 = the average image)."),
    streams: bool = typer.Option(False, "--streams", help="Video runs: write a still figure (PNG) of each clip's two streams: clip, foreground, mask and background rows."),
) -> None:
    """Generate images (or clips, from a video model) with a trained generator."""
    from ganforge.api import load
    from ganforge.imaging import make_grid, save_animation, save_image
    from ganforge.pipelines import ImageGenerationPipeline

    frames, frames_flag = renamed("sample", "--walk-frames", walk_frames, "--frames", frames)
    if n < 1:
        raise GanforgeError(f"--n must be at least 1, got {n}")
    if fps < 1 or (frames is not None and frames < 2):
        raise GanforgeError(f"--fps must be at least 1 and {frames_flag} at least 2, got {fps} and {frames}")
    if nrow is not None and nrow < 1:
        raise GanforgeError(f"--nrow must be at least 1, got {nrow}")
    pipe = load(run, device=resolve_device(device))
    seed_list = parse_seeds(seeds) if seeds else list(range(seed, seed + n))
    from ganforge.pipelines import VideoGenerationPipeline

    if isinstance(pipe, VideoGenerationPipeline):
        for given, flag in ((interpolate, "--interpolate"), (frames is not None, frames_flag),
                            (class_ is not None, "--class"), (truncation != 1.0, "--truncation")):
            if given:
                raise GanforgeError(f"{flag} applies to image generators; {run} is a video model making clips of "
                                    f"{pipe.frames} frames")
        typer.echo(_write_clips(pipe, seed_list, out, fps, nrow, streams))
        return
    if streams:
        raise GanforgeError(f"--streams applies to video models; {run} is not one")
    if not isinstance(pipe, ImageGenerationPipeline):
        raise GanforgeError(f"{run} is not an image generator")
    frames = 60 if frames is None else frames
    label = _class_arg(class_, pipe.class_names)
    if interpolate:
        if out.suffix.lower() not in (".gif", ".mp4", ".webm"):
            raise GanforgeError(f"--interpolate writes an animation: give --out walk.gif or walk.mp4, got {out}")
        walk_seeds = seed_list if seeds else seed_list[: max(2, min(len(seed_list), 4))]
        path = save_animation(pipe.latent_walk(walk_seeds, frames, label), out, fps=fps)
        typer.echo(str(path))
        return
    as_folder = str(out).endswith(("/", "\\")) or out.is_dir() or out.suffix == ""
    if label is None and pipe.class_names and not as_folder:
        label, nrow = conditional_grid(len(seed_list), nrow, len(pipe.class_names))
    images = pipe(seeds=seed_list, class_label=label, output_type="np", truncation=truncation)
    if as_folder:
        out.mkdir(parents=True, exist_ok=True)
        for s, img in zip(seed_list, images):
            save_image(img, out / f"seed{s:06d}.png")
        typer.echo(f"{len(images)} images in {out}")
        return
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise GanforgeError(f"--out must be an image file (.png, .jpg, .webp) or a folder ending in /, got {out}")
    typer.echo(str(save_image(make_grid(images, nrow=nrow), out)))


def _write_clips(pipe, seeds: list[int], out: Path, fps: int, nrow: int | None, streams: bool) -> str:
    """Clips of a video model to `out`; returns what to print."""
    from ganforge.imaging import save_animation, save_image
    from ganforge.pipelines.video import clip_strip, streams_figure, tile_clips

    suffix = out.suffix.lower()
    if streams:
        if suffix not in (".png", ".jpg", ".jpeg", ".webp"):
            raise GanforgeError(f"--streams writes a still figure: give --out streams.png, got {out}")
        return str(save_image(streams_figure(pipe.streams(seeds=seeds, output_type="np")), out))
    as_folder = str(out).endswith(("/", "\\")) or out.is_dir() or suffix == ""
    if not as_folder and suffix not in (".gif", ".mp4", ".webm", ".png", ".jpg", ".jpeg", ".webp"):
        raise GanforgeError(f"--out must be an animation (.gif, .mp4, .webm), a still strip (.png, .jpg, .webp) or a "
                            f"folder ending in /, got {out}")
    clips = pipe(seeds=seeds, output_type="np")  # uint8 [N, T, H, W, C]
    if as_folder:
        out.mkdir(parents=True, exist_ok=True)
        for s, clip in zip(seeds, clips):
            save_animation(clip, out / f"seed{s:06d}.gif", fps=fps)
        return f"{len(clips)} clips in {out}"
    if suffix in (".gif", ".mp4", ".webm"):
        return str(save_animation(tile_clips(clips, nrow), out, fps=fps))
    return str(save_image(clip_strip(clips), out))
