"""The image task's commands: how `ganforge sample` writes an image generator's output (grid, folder, walk)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ganforge.cli import sample
from ganforge.cli.sample import ANIMATION_SUFFIXES, SAMPLERS, STILL_SUFFIXES, SampleAsk, chunks
from ganforge.editing.cli import VERBS  # noqa: F401  (invert, edit: its generators' inversion and edits)
from ganforge.errors import GanforgeError
from ganforge.outputs import prepare_output_folder


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


@SAMPLERS.register("image")
def _sample_images(pipe, ask: SampleAsk) -> str:
    """An image generator: a grid, a folder of PNGs, or a latent walk."""
    if ask.streams:
        raise GanforgeError(f"--streams applies to video models; {ask.run} is not one")
    label = _class_arg(ask.class_, pipe.class_names)
    provenance = ask.provenance(pipe)
    if ask.interpolate:
        frames = 60 if ask.frames is None else ask.frames
        return _write_walk(pipe, ask.seeds, ask.explicit, frames, label, ask.out, ask.fps, provenance)
    if ask.as_folder:
        return _write_folder(pipe, ask.seeds, label, ask.truncation, ask.out, ask.overwrite, provenance)
    if ask.out.suffix.lower() not in STILL_SUFFIXES:
        raise GanforgeError(f"--out must be an image file (.png, .jpg, .webp) or a folder ending in /, got {ask.out}")
    return _write_grid(pipe, ask.seeds, label, ask.nrow, ask.truncation, ask.out, provenance)


def _image_shape(pipe) -> tuple[int, int, int]:
    return pipe.resolution, pipe.resolution, pipe.channels


def _write_folder(pipe, seeds: Sequence[int], label, truncation: float, out: Path, overwrite: bool,
                  provenance) -> str:
    """One PNG per seed, generated and written a chunk at a time, each marked and naming its seed."""
    from ganforge.cli.progress import DataProgress
    from ganforge.imaging import save_image

    prepare_output_folder(out, overwrite=overwrite)
    with DataProgress("sampling") as bar:
        for done, chunk in enumerate(chunks(seeds, sample.CHUNK)):
            images = pipe(seeds=list(chunk), class_label=label, output_type="np", truncation=truncation,
                          watermark=False)  # marked below, with the time the metadata gives
            for s, img in zip(chunk, images):
                save_image(provenance.mark(img), out / f"seed{s:06d}.png", metadata=provenance.metadata(seed=s))
            bar(min((done + 1) * sample.CHUNK, len(seeds)), len(seeds))
    return f"{len(seeds)} images in {out}"


def _write_grid(pipe, seeds: Sequence[int], label, nrow: int | None, truncation: float, out: Path,
                provenance) -> str:
    """One grid image, filled a chunk at a time; refused up front when the grid cannot fit in memory. The grid is
    marked as one image (its tiles line up over the whole of it), not image by image."""
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
    for first in range(0, len(seeds), sample.CHUNK):
        chunk = list(seeds[first : first + sample.CHUNK])
        chunk_labels = labels[first : first + sample.CHUNK] if isinstance(labels, list) else labels
        images = pipe(seeds=chunk, class_label=chunk_labels, output_type="np", truncation=truncation,
                      watermark=False)
        paste_into_grid(grid, images, first, nrow)
    return str(save_image(provenance.mark(grid), out, metadata=provenance.metadata()))


def _write_walk(pipe, seeds: Sequence[int], explicit: bool, frames: int, label, out: Path, fps: int,
                provenance) -> str:
    from ganforge.imaging import save_animation
    from ganforge.memory import check_fits

    if out.suffix.lower() not in ANIMATION_SUFFIXES:
        raise GanforgeError(f"--interpolate writes an animation: give --out walk.gif or walk.mp4, got {out}")
    h, w, c = _image_shape(pipe)
    check_fits(3 * frames * h * w * c, f"a latent walk of {frames} frames of {w}x{h}", "ask for fewer --walk-frames")
    walk_seeds = list(seeds) if explicit else list(seeds[: max(2, min(len(seeds), 4))])
    walk = [provenance.mark(frame) for frame in pipe.latent_walk(walk_seeds, frames, label, watermark=False)]
    return str(save_animation(walk, out, fps=fps, metadata=provenance.metadata()))
