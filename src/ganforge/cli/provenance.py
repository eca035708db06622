"""`ganforge provenance check FILES...`: for each image or video, whether it carries our mark, what its metadata
says, and how likely the detector finds it generated."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import typer

from ganforge.errors import GanforgeError
from ganforge.provenance.metadata import VIDEO_SUFFIXES as CONTAINER_SUFFIXES

VIDEO_SUFFIXES = (".gif", ".avi", *CONTAINER_SUFFIXES)  # read frame by frame (a GIF is an image to the metadata)
MAX_FRAMES = 32  # frames of a video checked at most, evenly spaced


def provenance_app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, help="Check images and videos for ganforge's watermark and metadata, "
                      "and for signs of being generated.")
    app.command("check")(check_command)
    return app


def evenly_spaced(frames: Iterable[np.ndarray], most: int = MAX_FRAMES) -> list[np.ndarray]:
    """Between most / 2 and `most` frames of a stream of unknown length (all when it has no more), evenly spaced from
    its first; never more than `most` + 1 held at once, however long the stream."""
    kept: list[tuple[int, np.ndarray]] = []
    stride = 1
    for index, frame in enumerate(frames):
        if index % stride:
            continue
        kept.append((index, frame))
        if len(kept) > most:  # too many: keep every other one, and take every other one from now on
            stride *= 2
            kept = [(i, f) for i, f in kept if i % stride == 0]
    return [frame for _, frame in kept]


def read_frames(path: Path) -> list[np.ndarray]:
    """The frames of an image (one) or a video (at most MAX_FRAMES, evenly spaced, decoded one at a time), uint8
    [H, W, C]."""
    from PIL import Image, UnidentifiedImageError

    if path.suffix.lower() in VIDEO_SUFFIXES:
        from ganforge.data.video import stored_frames

        return evenly_spaced(stored_frames(path))  # a DataError (a GanforgeError) says why a file cannot be read
    try:
        with Image.open(path) as im:
            array = np.asarray(im.convert("RGB" if im.mode not in ("L", "I;16") else "L"))
    except (UnidentifiedImageError, OSError) as exc:
        raise GanforgeError(f"cannot read {path} as an image: {exc}") from None
    return [array[:, :, None] if array.ndim == 2 else array]


def check_file(path: Path, detector: bool = True) -> dict[str, object]:
    """Everything `check` reports about one file, as a JSON-ready dict."""
    from ganforge.provenance import check_mark
    from ganforge.provenance.metadata import read_metadata

    frames = read_frames(path)
    checks = [check_mark(frame) for frame in frames]
    marked = [c for c in checks if c.marked]
    best = max(checks, key=lambda c: c.bit_matches)
    report: dict[str, object] = {
        "file": str(path),
        "frames": len(frames),
        "marked": bool(marked) and len(marked) * 2 >= len(checks),
        "frames_marked": len(marked),
        "mark": (marked[0] if marked else best).as_dict(),
        "metadata": read_metadata(path),
    }
    report["mark_agrees_with_metadata"] = _agrees(report["mark"], report["metadata"]) if marked else None
    if detector:
        from ganforge.provenance.detector import generated_probability

        probabilities = generated_probability(np.stack(frames) if len({f.shape for f in frames}) == 1 else frames[0])
        report["generated_probability"] = {k: round(float(np.mean(v)), 4) for k, v in probabilities.items()}
    return report


def _agrees(mark: dict[str, object], metadata: dict | None) -> bool | None:
    """Whether the mark's model fingerprint is the one the metadata's model hash gives (None: nothing to compare)."""
    from ganforge.provenance.payload import model_fingerprint

    model = (metadata or {}).get("model")
    digest = model.get("sha256") if isinstance(model, dict) else None
    return None if not digest else model_fingerprint(digest) == mark["model_fingerprint"]


def _line(report: dict[str, object]) -> str:
    mark = report["mark"]
    assert isinstance(mark, dict)
    frames = f" in {report['frames_marked']} of {report['frames']} frames" if report["frames"] != 1 else ""
    if report["marked"]:
        text = (f"marked{frames} ({mark['bit_matches']}/{mark['n_bits']} bits match a ganforge code; false-positive "
                f"rate {mark['false_positive_rate']:.1e}); model fingerprint {mark['model_fingerprint']:#04x}, "
                f"{mark['month']}")
    else:
        text = f"no ganforge mark{frames} (best {mark['bit_matches']}/{mark['n_bits']} bits)"
    meta = report["metadata"]
    if isinstance(meta, dict) and meta:
        model = meta.get("model") if isinstance(meta.get("model"), dict) else {}
        name = model.get("name") or model.get("path") or "?"
        digest = f" (sha256 {model['sha256'][:12]})" if model.get("sha256") else ""
        text += (f"; metadata: {meta.get('software', 'ganforge')}, {meta.get('command', '?')}, model {name}{digest}, "
                 f"watermark {meta.get('watermark', '?')}")
        swap = meta.get("swap")
        if isinstance(swap, dict):  # `ganforge swap` always says so
            text += (f", A FACE SWAP to {swap.get('identity', '?')}"
                     + (" (consent given)" if swap.get("consent") else ""))
        agrees = report.get("mark_agrees_with_metadata")
        if agrees is not None:
            text += ", the mark's model agrees" if agrees else ", THE MARK'S MODEL DIFFERS from the metadata's"
    else:
        text += "; no ganforge metadata"
    probs = report.get("generated_probability")
    if isinstance(probs, dict):
        text += ("; generated (detectors trained on small emoji, digits and photo crops only): "
                 + ", ".join(f"{k} {v:.2f}" for k, v in probs.items()))
    return f"{report['file']}: {text}"


def check_command(
    files: list[Path] = typer.Argument(..., help="Images (PNG, JPEG, WebP, ...) or videos (GIF, MP4) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per file instead of a line."),
    detector: bool = typer.Option(True, "--detector/--no-detector",
                                  help="Also give the detectors' probability that the image is generated (trained on 32-64 px emoji, digits "
                                  "and photo crops only: a guide on other images, not a verdict)."),
) -> None:
    """Whether each file carries ganforge's invisible watermark (its payload, bit matches and the decision's
    false-positive rate), what its metadata says, and the detectors' probability that it is generated."""
    failed = 0
    for path in files:
        if not path.is_file():
            typer.echo(f"error: {path}: no such file", err=True)
            failed += 1
            continue
        try:
            report = check_file(path, detector)
        except GanforgeError as exc:
            typer.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        typer.echo(json.dumps(report) if as_json else _line(report))
    if failed:
        raise typer.Exit(1)
