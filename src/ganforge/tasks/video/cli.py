"""The video task's commands: how `ganforge sample` writes a video generator's clips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ganforge.cli import sample
from ganforge.cli.sample import ANIMATION_SUFFIXES, SAMPLERS, STILL_SUFFIXES, SampleAsk, chunks
from ganforge.errors import GanforgeError
from ganforge.outputs import prepare_output_folder

VERBS: dict = {}  # no verbs of its own: `ganforge sample` serves it


@SAMPLERS.register("video")
def _sample_clips(pipe, ask: SampleAsk) -> str:
    """A video model: clips as one animation, a folder of GIFs, a strip or a streams figure."""
    for given, flag in ((ask.interpolate, "--interpolate"), (ask.frames is not None, ask.frames_flag),
                        (ask.class_ is not None, "--class"), (ask.truncation != 1.0, "--truncation")):
        if given:
            raise GanforgeError(f"{flag} applies to image generators; {ask.run} is a video model making clips of "
                                f"{pipe.frames} frames")
    return _write_clips(pipe, ask.seeds, ask.out, ask.as_folder, ask.fps, ask.nrow, ask.streams, ask.overwrite,
                        ask.provenance(pipe))


def _write_clips(pipe, seeds: Sequence[int], out: Path, as_folder: bool, fps: int, nrow: int | None, streams: bool,
                 overwrite: bool, provenance=None) -> str:
    """Clips of a video model to `out`; returns what to print. A folder is written a chunk at a time. Every file
    is marked and carries the metadata of `provenance` (default: the pipeline's, watermark on); a file of several
    clips is marked as one picture per frame."""
    from ganforge.imaging import save_animation, save_image
    from ganforge.memory import check_fits
    from ganforge.tasks.video.pipeline import clip_strip, streams_figure, tile_clips

    suffix = out.suffix.lower()
    if streams and suffix not in STILL_SUFFIXES:
        raise GanforgeError(f"--streams writes a still figure: give --out streams.png, got {out}")
    if not as_folder and suffix not in ANIMATION_SUFFIXES + STILL_SUFFIXES:
        raise GanforgeError(f"--out must be an animation (.gif, .mp4, .webm), a still strip (.png, .jpg, .webp) or a "
                            f"folder ending in /, got {out}")
    if provenance is None:
        from ganforge.cli.sample import seeds_setting

        provenance = pipe.provenance({"seeds": seeds_setting(seeds), "fps": fps})
    clip_bytes = pipe.frames * pipe.resolution**2 * pipe.channels
    if as_folder and not streams:
        from ganforge.cli.progress import DataProgress

        prepare_output_folder(out, overwrite=overwrite)
        with DataProgress("sampling clips") as bar:
            for done, chunk in enumerate(chunks(seeds, sample.CHUNK // 16)):
                for s, clip in zip(chunk, pipe(seeds=list(chunk), output_type="np", watermark=False)):
                    save_animation(provenance.mark(clip), out / f"seed{s:06d}.gif", fps=fps,
                                   metadata=provenance.metadata(seed=s))
                bar(min((done + 1) * (sample.CHUNK // 16), len(seeds)), len(seeds))
        return f"{len(seeds)} clips in {out}"
    check_fits((4 * 3 if streams else 3) * len(seeds) * clip_bytes, f"{len(seeds)} clips in one file",
               "write them to a folder (--out DIR/) or ask for fewer")
    metadata = provenance.metadata()
    if streams:
        figure = streams_figure(pipe.streams(seeds=list(seeds), output_type="np", watermark=False))
        return str(save_image(provenance.mark(figure), out, metadata=metadata))
    clips = pipe(seeds=list(seeds), output_type="np", watermark=False)  # uint8 [N, T, H, W, C]
    if suffix in ANIMATION_SUFFIXES:
        return str(save_animation(provenance.mark(tile_clips(clips, nrow)), out, fps=fps, metadata=metadata))
    return str(save_image(provenance.mark(clip_strip(clips)), out, metadata=metadata))
