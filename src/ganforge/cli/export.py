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
    format: str = typer.Option("safetensors", "--format", help="safetensors (config.json + model.safetensors), onnx "  # noqa: A002
                               "(config.json + one .onnx graph per network, for ONNX Runtime: `ganforge.load(OUT, "
                               "runtime='onnx')`, `--runtime onnx`) or both."),
) -> None:
    """Export a trained model for `ganforge.load` / `ganforge sample` (no optimizer state, no pickles)."""
    from ganforge.api import load
    from ganforge.errors import GanforgeError
    from ganforge.pipelines.base import run_discriminators

    if format not in FORMATS:
        raise GanforgeError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format == "onnx" and with_discriminator:
        raise GanforgeError("--with-discriminator stores weights for training: use --format safetensors or both")
    pipe = load(run)
    if format != "safetensors":
        from ganforge.pipelines.onnx import require_onnx

        require_onnx("--format onnx")
        pipe.onnx_graphs()  # a pipeline without an ONNX export says so before anything is written
    extra, state = run_discriminators(run) if with_discriminator else (None, None)
    path = pipe.save_pretrained(out, overwrite=overwrite, training_networks=extra, training_state=state)
    if format != "safetensors":
        from ganforge.pipelines.onnx import export_onnx

        entry = export_onnx(pipe, path)
        if format == "onnx":
            (path / "model.safetensors").unlink()
        typer.echo(f"{path} (ONNX opset {next(iter(entry['graphs'].values()))['opset']}: "
                   f"{', '.join(g['file'] for g in entry['graphs'].values())})")
        return
    typer.echo(str(path))


FORMATS = ("safetensors", "onnx", "both")
