"""`ganforge sample RUN`: a grid, a folder of images, or a latent-walk animation; clips from a video run."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from ganforge.cli.options import (
    device_option,
    no_watermark_option,
    old_name,
    overwrite_option,
    renamed,
    runtime_option,
)
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.outputs import check_output_file
from ganforge.registry import Registry
from ganforge.tasks.spec import import_parts


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
    runtime: str = runtime_option(),
    truncation: float = typer.Option(1.0, "--truncation", help="Truncation psi for style-based models (1 = none, 0 = the average image)."),
    streams: bool = typer.Option(False, "--streams", help="Video runs: write a still figure (PNG) of each clip's two streams: clip, foreground, mask and background rows."),
    overwrite: bool = overwrite_option(),
    no_watermark: bool = no_watermark_option(),
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
    pipe = load(run, device=resolve_device(device), runtime=runtime)
    ask = SampleAsk(run, seed_list, bool(seeds), out, as_folder, fps, nrow, frames, frames_flag, class_, interpolate,
                    truncation, streams, overwrite, not no_watermark)
    name = str(pipe.config.get("pipeline", "?"))
    import_parts("commands")  # each task's cli module registers its sampler
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
    watermark: bool = True  # not --no-watermark

    def provenance(self, pipe) -> Any:
        """What every file this sampling writes carries: the watermark (unless --no-watermark) and the metadata of
        the model and these options."""
        settings: dict[str, Any] = {"seeds": seeds_setting(self.seeds), "class": self.class_}
        if self.truncation != 1.0:
            settings["truncation"] = self.truncation
        if self.interpolate:
            settings.update(interpolate=True, walk_frames=self.frames or 60)
        animated = self.interpolate or self.out.suffix.lower() in ANIMATION_SUFFIXES
        if animated or (self.as_folder and pipe.config.get("pipeline") == "video"):  # a folder of GIFs
            settings["fps"] = self.fps
        if self.streams:
            settings["streams"] = True
        return pipe.provenance(settings, self.watermark, "sample")


def seeds_setting(seeds: Sequence[int]) -> str:
    """The seeds as `--seeds` text (0-63 or 1,5,9), shortened to the first and last when a long list."""
    from ganforge.provenance.metadata import seeds_text

    text = seeds_text(seeds)
    return text if len(text) <= 200 else f"{len(seeds)} seeds, {seeds[0]} to {seeds[-1]}"


SAMPLERS: Registry = Registry("sampler")  # pipeline name -> writer(pipe, ask) -> what to print (tasks/*/cli.py)


def chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
