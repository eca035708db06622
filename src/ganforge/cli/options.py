"""Options several commands share: `--device`, and renamed options whose old names still work for a release.

A renamed option is two Typer options: the new name, shown in --help, and the old one, hidden, both defaulting to
None so that the command can tell which was typed (Typer cannot, for one option with two names). `renamed()` merges
them: the old name gives a one-line deprecation note on stderr, printed when the command ends (after any error line,
so `error: ...` stays the first line) or earlier where a command calls `flush_notes()` before long work; both
names with different values are a one-line error. Errors then name the option as it was typed (`as_typed`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from ganforge.devices import DEVICE_HELP
from ganforge.errors import GanforgeError

_notes: list[str] = []


def device_option() -> Any:
    """`--device`, the same in every command that runs a model: auto unless told otherwise."""
    return typer.Option("auto", "--device", help=DEVICE_HELP)


def runtime_option() -> Any:
    """`--runtime`: run the model's networks in PyTorch, or in ONNX Runtime from an export with its .onnx graphs."""
    return typer.Option("torch", "--runtime", help="torch, or onnx: the networks of an export written with `ganforge "
                        "export RUN --out DIR --format onnx` run in ONNX Runtime (give DIR as the model).")


def overwrite_option() -> Any:
    """`--overwrite`: the one way to write over files (or into folders) that ganforge did not write."""
    return typer.Option(False, "--overwrite", help="Write over existing files, or into a non-empty folder, that "
                        "ganforge did not write (never over an input).")


def no_watermark_option() -> Any:
    """`--no-watermark`, the same in every command that writes what a model made (issue 29)."""
    return typer.Option(False, "--no-watermark", help="Write outputs without the invisible watermark (recorded in "
                        "the file's metadata).")


def strict_option() -> Any:
    """`--strict` for commands over many inputs: stop at the first bad one instead of skipping it."""
    return typer.Option(False, "--strict", help="Stop at the first input that cannot be used, instead of skipping "
                        "and counting it.")


def old_name(flag: str) -> Any:
    """The hidden option that keeps an old spelling working for one more release."""
    return typer.Option(None, flag, hidden=True)


def renamed(command: str, new_flag: str, new_value: Any, old_flag: str, old_value: Any,
            until: str = "the old name goes in the next release") -> tuple[Any, str]:
    """(value, the flag the user typed) of an option given by its new name, its old name, or neither."""
    if old_value is None:
        return new_value, new_flag
    if new_value is not None and new_value != old_value:
        raise GanforgeError(f"{new_flag} {new_value} and {old_flag} {old_value} disagree: {old_flag} is the old name of "
                            f"{new_flag}; give only {new_flag}")
    _notes.append(f"note: {old_flag} is deprecated in `ganforge {command}`; use {new_flag} ({until})")
    return old_value, (new_flag if new_value is not None else old_flag)


def flush_notes() -> None:
    """Print the deprecation notes gathered so far on stderr, one line each."""
    while _notes:
        print(_notes.pop(0), file=sys.stderr, flush=True)


def drop_notes() -> None:
    _notes.clear()


@contextmanager
def as_typed(flags: dict[str, str]) -> Iterator[None]:
    """Errors raised inside name each renamed option as typed: `flags` maps a name the lower layers (config,
    metrics) may use in messages to the name the user gave."""
    try:
        yield
    except GanforgeError as exc:
        message = str(exc)
        for said, typed in flags.items():
            if said != typed:
                message = re.sub(rf"(?<![\w-]){re.escape(said)}(?![\w-])", typed, message)
        if message != str(exc):
            exc.args = (message,)
        raise
