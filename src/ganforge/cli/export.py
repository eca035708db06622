"""`ganforge export RUN --out DIR`: config.json + model.safetensors from a run's EMA generator."""

from __future__ import annotations

from pathlib import Path

import typer

from ganforge.cli.options import overwrite_option


def export_command(
    run: Path = typer.Argument(..., help="Run directory or checkpoint folder."),
    out: Path = typer.Option(..., "--out", help="Folder to write config.json and model.safetensors into: new, empty, "
                             "or an earlier export."),
    overwrite: bool = overwrite_option(),
) -> None:
    """Export a trained model for `ganforge.load` / `ganforge sample` (no optimizer state, no pickles)."""
    from ganforge.api import load

    pipe = load(run)
    path = pipe.save_pretrained(out, overwrite=overwrite)
    typer.echo(str(path))
