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
    with_discriminator: bool = typer.Option(False, "--with-discriminator", help="Also store the discriminator (and "
                                            "ADA's p), so that `ganforge train ... --init OUT` can go on training the "
                                            "model."),
) -> None:
    """Export a trained model for `ganforge.load` / `ganforge sample` (no optimizer state, no pickles)."""
    from ganforge.api import load
    from ganforge.pipelines.base import run_discriminators

    pipe = load(run)
    extra, state = run_discriminators(run) if with_discriminator else (None, None)
    path = pipe.save_pretrained(out, overwrite=overwrite, training_networks=extra, training_state=state)
    typer.echo(str(path))
