"""`ganforge swap RUN CLIP --identity B --out OUT.gif|mp4`: put face B in place of the face in each frame of CLIP.

CLIP is a video file (GIF; MP4, WebM, ... with the `video` extra) or a face-clip index `faceclips:[SPLIT:]INDEX`
(the emoji face clips; their maker gives each face's pose). Other clips' faces are found by the shipped emoji face
finder, or by OpenCV's Haar cascade (`--finder haar`, photographs: upright faces), or given with `--poses poses.json`
({"centre": [[y, x], ...], "side": [...], "angle": [...]}, one per frame).

Every frame written carries the watermark and the file's metadata says it is a swap; neither can be turned off here.
A clip or face image of your own (anything but the built-in emoji faces) may show real people: it is swapped only with
`--consent`, which confirms that everyone shown agreed, and which the metadata records.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from ganforge.cli.options import device_option, overwrite_option, runtime_option
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError
from ganforge.outputs import check_output_file

ANIMATION_SUFFIXES = (".gif", ".mp4", ".webm")
CONSENT_NEEDED = ("swapping faces in footage or photographs of your own needs the consent of everyone shown: give "
                  "--consent to confirm they agreed (it is recorded in the output's metadata)")


def read_poses(path: Path) -> dict[str, list]:
    try:
        poses = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise GanforgeError(f"cannot read poses from {path}: {exc}") from None
    if not isinstance(poses, dict):
        raise GanforgeError(f"{path} must hold a JSON object with centre, side and angle")
    return poses


def list_faces() -> None:
    from ganforge.tasks.swap.data import face_names

    for k, name in enumerate(face_names()):
        typer.echo(f"{k:4d}  {name}")


def swap_command(
    run: Path = typer.Argument(None, help="swap run directory, checkpoint folder or exported model."),
    clip: str = typer.Argument(None, help="A video file (GIF; MP4/WebM with the video extra) or a face-clip index "
                               "faceclips:[SPLIT:]INDEX such as faceclips:test:7."),
    identity: str = typer.Option(None, "--identity", help="The face to put in: a face emoji's index or name "
                                 "(--list-faces), or for simswap an image file of the face, upright and filling it."),
    out: Path = typer.Option(Path("swapped.gif"), "--out", help="Animation to write: .gif, or .mp4/.webm with the "
                             "video extra."),
    poses: Path | None = typer.Option(None, "--poses", help="JSON of each frame's face pose (centre [y, x], side, "
                                      "angle) [default: the face clip's own, else the face finder's]."),
    finder: str = typer.Option("emoji", "--finder", help="How faces are found where no poses are given: emoji (the "
                               "shipped finder, trained on the emoji faces) | haar (OpenCV's Haar cascade, for "
                               "photographs; the faces extra)."),
    frames: int = typer.Option(16, "--frames", help="Frames of a face-clip index."),
    compare: bool = typer.Option(False, "--compare", help="Put the original frames left of the swapped ones."),
    consent: bool = typer.Option(False, "--consent", help="Confirm that everyone shown in CLIP and in the --identity "
                                 "image agreed to this swap; needed for any clip or face image of your own."),
    fps: int = typer.Option(10, "--fps", help="Frames per second of the animation."),
    faces: bool = typer.Option(False, "--list-faces", help="List the face emoji --identity can name, and exit."),
    device: str = device_option(),
    runtime: str = runtime_option(),
    overwrite: bool = overwrite_option(),
) -> None:
    """Swap the face in each frame of a clip for another, and write it marked as a swap (watermark and metadata)."""
    from ganforge.api import load
    from ganforge.imaging import save_animation
    from ganforge.tasks.nextframe.cli import side_by_side
    from ganforge.tasks.swap.pipeline import SwapPipeline, parse_faceclip

    if faces:
        list_faces()
        return
    if run is None or clip is None or identity is None:
        raise GanforgeError("give a swap model, a clip and --identity: ganforge swap RUN CLIP --identity B")
    if out.suffix.lower() not in ANIMATION_SUFFIXES:
        raise GanforgeError(f"--out must end in {', '.join(ANIMATION_SUFFIXES)}, got {out.name!r}")
    if fps < 1 or frames < 1:
        raise GanforgeError(f"--fps and --frames must be at least 1, got {fps} and {frames}")
    from ganforge.swap.finder import FINDERS

    if finder not in FINDERS:
        raise GanforgeError(f"unknown --finder {finder!r}; choose one of: {', '.join(FINDERS)}")
    own_clip = parse_faceclip(clip) is None
    own_face = Path(identity).is_file()
    if (own_clip or own_face) and not consent:
        raise GanforgeError(CONSENT_NEEDED)
    inputs = [Path(p) for p in (clip, identity, poses) if p is not None and Path(p).is_file()]
    check_output_file(out, inputs, overwrite)
    pipe = load(run, device=resolve_device(device), runtime=runtime)
    if not isinstance(pipe, SwapPipeline):
        raise GanforgeError(f"{run} is not a swap model (train one with `ganforge train swap`)")
    shown, known = pipe.load_clip(clip, frames)
    given = read_poses(poses) if poses is not None else None
    if given is None and known is None:
        from ganforge.swap.finder import find_faces

        given = find_faces(shown, finder)
    source = "file" if poses is not None else ("face clip" if known is not None else f"{finder} finder")
    _, _, name = pipe._target(identity)
    swapped = pipe.swap_frames(shown, given if given is not None else known, identity, watermark=False)
    provenance = pipe.provenance({"clip": Path(clip).name if own_clip else clip, "identity": name,
                                  "poses": source, "compare": compare, "fps": fps}, True, "swap")
    provenance.record["swap"] = {"identity": name, "consent": bool(consent), "own_footage": bool(own_clip or own_face)}
    written = np.stack([side_by_side(a, b) for a, b in zip(shown, swapped)]) if compare else swapped
    path = save_animation(provenance.mark(written), out, fps=fps, metadata=provenance.metadata())  # every frame
    typer.echo(f"{len(swapped)} frames of {clip} with {name}'s face (poses: {source}) written to {path}, marked as "
               "a swap")


VERBS = {"swap": swap_command}  # registered by cli/main.py through the task specs
