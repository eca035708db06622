"""`ganforge sample RUN`: a grid, a folder of images, or a latent-walk animation; clips from a video run."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import typer

from ganforge.cli.options import device_option, old_name, overwrite_option, renamed
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.outputs import check_output_file, prepare_output_folder
from ganforge.registry import Registry


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


SEED_LIMIT = 2**63  # torch.Generator.manual_seed takes seeds below 2**64; a latent walk adds nothing
CHUNK = 256  # images (clips: a sixteenth) generated and written at a time: memory stays bounded whatever --n is
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
ANIMATION_SUFFIXES = (".gif", ".mp4", ".webm")


def sample_command(
    run: Path = typer.Argument(..., help="Run directory, checkpoint folder or exported model directory."),
    n: int = typer.Option(64, "--n", help="Number of images or clips (ignored with --seeds). A folder takes any "
                          "number (written as they are made); a grid or animation must fit in memory."),
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
    overwrite: bool = overwrite_option(),
) -> None:
    """Generate images (or clips, from a video model) with a trained generator."""
    from ganforge.api import load

    frames, frames_flag = renamed("sample", "--walk-frames", walk_frames, "--frames", frames)
    if n < 1:
        raise GanforgeError(f"--n must be at least 1, got {n}")
    if not 0 <= seed or seed + n > SEED_LIMIT:
        raise GanforgeError(f"--seed must be at least 0 and --seed + --n at most 2**63, got {seed} and {n}")
    if fps < 1 or (frames is not None and frames < 2):
        raise GanforgeError(f"--fps must be at least 1 and {frames_flag} at least 2, got {fps} and {frames}")
    if nrow is not None and nrow < 1:
        raise GanforgeError(f"--nrow must be at least 1, got {nrow}")
    if not math.isfinite(truncation):
        raise GanforgeError(f"--truncation must be a finite number, got {truncation}")
    seed_list: Sequence[int] = parse_seeds(seeds) if seeds else range(seed, seed + n)
    as_folder = str(out).endswith(("/", "\\")) or out.is_dir() or out.suffix == ""
    if not as_folder:
        check_output_file(out, overwrite=overwrite)
    pipe = load(run, device=resolve_device(device))
    ask = SampleAsk(run, seed_list, bool(seeds), out, as_folder, fps, nrow, frames, frames_flag, class_, interpolate,
                    truncation, streams, overwrite)
    name = str(pipe.config.get("pipeline", "?"))
    if name not in SAMPLERS:
        if streams:
            raise GanforgeError(f"--streams applies to video models; {run} is not one")
        raise GanforgeError(f"{run} is not an image generator")
    typer.echo(SAMPLERS.get(name)(pipe, ask))


@dataclass(frozen=True)
class SampleAsk:
    """sample_command's options, checked and merged, as every writer reads them."""

    run: Path
    seeds: Sequence[int]
    explicit: bool  # --seeds was given (a latent walk goes through all of them)
    out: Path
    as_folder: bool
    fps: int
    nrow: int | None
    frames: int | None  # --walk-frames
    frames_flag: str  # as typed: --walk-frames or --frames
    class_: str | None
    interpolate: bool
    truncation: float
    streams: bool
    overwrite: bool


SAMPLERS: Registry = Registry("sampler")  # pipeline name -> writer(pipe, ask) -> what to print


@SAMPLERS.register("video")
def _sample_clips(pipe, ask: SampleAsk) -> str:
    """A video model: clips as one animation, a folder of GIFs, a strip or a streams figure."""
    for given, flag in ((ask.interpolate, "--interpolate"), (ask.frames is not None, ask.frames_flag),
                        (ask.class_ is not None, "--class"), (ask.truncation != 1.0, "--truncation")):
        if given:
            raise GanforgeError(f"{flag} applies to image generators; {ask.run} is a video model making clips of "
                                f"{pipe.frames} frames")
    return _write_clips(pipe, ask.seeds, ask.out, ask.as_folder, ask.fps, ask.nrow, ask.streams, ask.overwrite)


@SAMPLERS.register("image")
def _sample_images(pipe, ask: SampleAsk) -> str:
    """An image generator: a grid, a folder of PNGs, or a latent walk."""
    if ask.streams:
        raise GanforgeError(f"--streams applies to video models; {ask.run} is not one")
    label = _class_arg(ask.class_, pipe.class_names)
    if ask.interpolate:
        frames = 60 if ask.frames is None else ask.frames
        return _write_walk(pipe, ask.seeds, ask.explicit, frames, label, ask.out, ask.fps)
    if ask.as_folder:
        return _write_folder(pipe, ask.seeds, label, ask.truncation, ask.out, ask.overwrite)
    if ask.out.suffix.lower() not in STILL_SUFFIXES:
        raise GanforgeError(f"--out must be an image file (.png, .jpg, .webp) or a folder ending in /, got {ask.out}")
    return _write_grid(pipe, ask.seeds, label, ask.nrow, ask.truncation, ask.out)


def _image_shape(pipe) -> tuple[int, int, int]:
    return pipe.resolution, pipe.resolution, pipe.channels


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _write_folder(pipe, seeds: Sequence[int], label, truncation: float, out: Path, overwrite: bool) -> str:
    """One PNG per seed, generated and written a chunk at a time."""
    from ganforge.cli.progress import DataProgress
    from ganforge.imaging import save_image

    prepare_output_folder(out, overwrite=overwrite)
    with DataProgress("sampling") as bar:
        for done, chunk in enumerate(_chunks(seeds, CHUNK)):
            images = pipe(seeds=list(chunk), class_label=label, output_type="np", truncation=truncation)
            for s, img in zip(chunk, images):
                save_image(img, out / f"seed{s:06d}.png")
            bar(min((done + 1) * CHUNK, len(seeds)), len(seeds))
    return f"{len(seeds)} images in {out}"


def _write_grid(pipe, seeds: Sequence[int], label, nrow: int | None, truncation: float, out: Path) -> str:
    """One grid image, filled a chunk at a time; refused up front when the grid cannot fit in memory."""
    from ganforge.imaging import grid_shape, paste_into_grid, save_image
    from ganforge.memory import check_fits

    h, w, c = _image_shape(pipe)
    shape = grid_shape(len(seeds), h, w, c, nrow)
    check_fits(2 * math.prod(shape), f"a grid of {len(seeds)} images of {w}x{h}",  # the grid and the encoder's copy
               f"write them to a folder (--out {out.with_suffix('')}/) or ask for fewer")
    labels = label
    if label is None and pipe.class_names:
        labels, nrow = conditional_grid(len(seeds), nrow, len(pipe.class_names))
    nrow = nrow or max(1, math.ceil(math.sqrt(len(seeds))))
    grid = np.full(grid_shape(len(seeds), h, w, c, nrow), 255, dtype=np.uint8)
    for first in range(0, len(seeds), CHUNK):
        chunk = list(seeds[first : first + CHUNK])
        chunk_labels = labels[first : first + CHUNK] if isinstance(labels, list) else labels
        images = pipe(seeds=chunk, class_label=chunk_labels, output_type="np", truncation=truncation)
        paste_into_grid(grid, images, first, nrow)
    return str(save_image(grid, out))


def _write_walk(pipe, seeds: Sequence[int], explicit: bool, frames: int, label, out: Path, fps: int) -> str:
    from ganforge.imaging import save_animation
    from ganforge.memory import check_fits

    if out.suffix.lower() not in ANIMATION_SUFFIXES:
        raise GanforgeError(f"--interpolate writes an animation: give --out walk.gif or walk.mp4, got {out}")
    h, w, c = _image_shape(pipe)
    check_fits(3 * frames * h * w * c, f"a latent walk of {frames} frames of {w}x{h}", "ask for fewer --walk-frames")
    walk_seeds = list(seeds) if explicit else list(seeds[: max(2, min(len(seeds), 4))])
    return str(save_animation(pipe.latent_walk(walk_seeds, frames, label), out, fps=fps))


def _write_clips(pipe, seeds: Sequence[int], out: Path, as_folder: bool, fps: int, nrow: int | None, streams: bool,
                 overwrite: bool) -> str:
    """Clips of a video model to `out`; returns what to print. A folder is written a chunk at a time."""
    from ganforge.imaging import save_animation, save_image
    from ganforge.memory import check_fits
    from ganforge.pipelines.video import clip_strip, streams_figure, tile_clips

    suffix = out.suffix.lower()
    if streams and suffix not in STILL_SUFFIXES:
        raise GanforgeError(f"--streams writes a still figure: give --out streams.png, got {out}")
    if not as_folder and suffix not in ANIMATION_SUFFIXES + STILL_SUFFIXES:
        raise GanforgeError(f"--out must be an animation (.gif, .mp4, .webm), a still strip (.png, .jpg, .webp) or a "
                            f"folder ending in /, got {out}")
    clip_bytes = pipe.frames * pipe.resolution**2 * pipe.channels
    if as_folder and not streams:
        from ganforge.cli.progress import DataProgress

        prepare_output_folder(out, overwrite=overwrite)
        with DataProgress("sampling clips") as bar:
            for done, chunk in enumerate(_chunks(seeds, CHUNK // 16)):
                for s, clip in zip(chunk, pipe(seeds=list(chunk), output_type="np")):
                    save_animation(clip, out / f"seed{s:06d}.gif", fps=fps)
                bar(min((done + 1) * (CHUNK // 16), len(seeds)), len(seeds))
        return f"{len(seeds)} clips in {out}"
    check_fits((4 * 3 if streams else 3) * len(seeds) * clip_bytes, f"{len(seeds)} clips in one file",
               "write them to a folder (--out DIR/) or ask for fewer")
    if streams:
        return str(save_image(streams_figure(pipe.streams(seeds=list(seeds), output_type="np")), out))
    clips = pipe(seeds=list(seeds), output_type="np")  # uint8 [N, T, H, W, C]
    if suffix in ANIMATION_SUFFIXES:
        return str(save_animation(tile_clips(clips, nrow), out, fps=fps))
    return str(save_image(clip_strip(clips), out))
