"""Where commands may write: never over an input, never over a file or into a folder the project did not write.

A file counts as the project's own when it carries our mark (the EXIF/PNG `Software` field or the GIF comment that
`imaging.save_image` and `save_animation` write) or lies in a folder the project made. A folder is the project's own
when it holds our marker file (written when an output command creates or first fills it), an export, or a run.
Anything else is the user's: replacing it needs `--overwrite`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ganforge.errors import GanforgeError

OUTPUT_MARKER = ".ganforge-output"  # in every folder an output command created or filled
SOFTWARE = "ganforge"  # the mark in the files the project writes
EXIF_SOFTWARE = 0x0131


def file_is_ours(path: Path) -> bool:
    """Whether an existing file was written by the project: our mark inside, or a folder of ours around it."""
    path = Path(path)
    if (path.parent / OUTPUT_MARKER).is_file():
        return True
    try:
        from PIL import Image

        with Image.open(path) as im:
            marks = [im.info.get("Software"), im.info.get("comment"), im.getexif().get(EXIF_SOFTWARE)]
    except Exception:  # not an image Pillow reads (an MP4, a text file): nothing says it is ours
        return False
    return any(_says_ours(m) for m in marks)


def _says_ours(mark: object) -> bool:
    if isinstance(mark, bytes):
        mark = mark.decode("utf-8", "replace")
    return isinstance(mark, str) and mark.startswith(SOFTWARE)


def folder_is_ours(path: Path) -> bool:
    """A folder an output command made, an export (config.json + model.safetensors) or a run (model.json)."""
    path = Path(path)
    if (path / OUTPUT_MARKER).is_file() or (path / "model.json").is_file():
        return True
    return (path / "model.safetensors").is_file() and _export_config(path / "config.json")


def _export_config(path: Path) -> bool:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "pipeline" in config and "components" in config


def check_not_an_input(out: Path, inputs: Iterable[Path], flag: str = "--out") -> None:
    """Refuse an output that is an input or a folder holding one: writing there could replace it."""
    target = _resolved(out)
    for item in inputs:
        source = _resolved(item)
        if target == source or target in source.parents:
            raise GanforgeError(f"{flag} {out} {'is' if target == source else 'contains'} the input {item}: "
                                f"write the outputs somewhere else")


def check_output_file(path: Path, inputs: Iterable[Path] = (), overwrite: bool = False, flag: str = "--out") -> Path:
    """A file the command may write: not a folder, not an input, and new, ours or `--overwrite`n."""
    path = Path(path)
    if path.is_dir():
        raise GanforgeError(f"{flag} {path} is a folder: give a file name, e.g. {path / 'out.png'}")
    check_not_an_input(path, inputs, flag)
    if path.exists() and not overwrite and not file_is_ours(path):
        raise GanforgeError(f"{flag} {path} exists and was not written by ganforge: give another name, or "
                            "--overwrite to replace it")
    return path


def prepare_output_folder(out: Path, inputs: Iterable[Path] = (), overwrite: bool = False,
                          flag: str = "--out") -> Path:
    """Create `out`, or accept it when empty or ours (or with `--overwrite`), and mark it ours."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise GanforgeError(f"{flag} {out} is a file: give a folder (one output per input goes into it)")
    check_not_an_input(out, inputs, flag)
    theirs = out.is_dir() and not folder_is_ours(out) and any(out.iterdir())
    if theirs and not overwrite:
        raise GanforgeError(f"{flag} {out} is a folder that ganforge did not make and is not empty: give a new or "
                            "empty folder, or --overwrite to write into it")
    out.mkdir(parents=True, exist_ok=True)
    if not theirs and not folder_is_ours(out):  # a folder written into by --overwrite stays the user's
        (out / OUTPUT_MARKER).write_text(json.dumps({"written_by": SOFTWARE}) + "\n")
    return out


def _resolved(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except OSError:
        return Path(path).absolute()
