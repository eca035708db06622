"""`ganforge studio [RUN_OR_MODEL ...]`: the tasks in a local web page (the optional `studio` extra)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import typer

from ganforge.cli.options import device_option
from ganforge.errors import GanforgeError
from ganforge.studio.limits import DEFAULT_MAX_PIXELS, DEFAULT_MAX_UPLOAD_MB


def studio_command(
    models: list[str] = typer.Argument(None, help="Run directories, exported models or zoo:NAME to offer besides "
                                       "those found in --runs-dir, --models-dir and the shipped zoo."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default: the first free one from 7860)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Only this machine can reach the "
                             "default; any other (0.0.0.0: every network) lets others use the studio, with a warning."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Folder of training runs to list."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help="Folder of exported models to list."),
    max_upload_mb: float = typer.Option(DEFAULT_MAX_UPLOAD_MB, "--max-upload-mb", help="Largest upload accepted, in MB."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", help="Largest uploaded image (or outpainted canvas) in "
                                   "pixels; an upscaled output may hold four times as many."),
    concurrency: int = typer.Option(1, "--concurrency", help="Requests run at once; the others wait in a queue."),
    device: str = device_option(),
) -> None:
    """Open the web studio: every task's tab (generate, translate, paint labels, inpaint, upscale, predict, video),
    then evaluate and train (a run started there goes into --runs-dir), in the browser, on this machine only."""
    from ganforge.studio import require_gradio

    require_gradio()  # the one-line install hint, before anything else
    from ganforge.studio.app import build_app, launch
    from ganforge.studio.context import StudioContext
    from ganforge.studio.limits import Limits

    if max_upload_mb <= 0 or max_pixels <= 0 or concurrency < 1:
        raise GanforgeError(f"--max-upload-mb and --max-pixels must be > 0 and --concurrency >= 1, got "
                            f"{max_upload_mb}, {max_pixels} and {concurrency}")
    if port is not None and not 0 < port < 65536:
        raise GanforgeError(f"--port must lie in 1..65535, got {port}")
    limits = Limits(max_bytes=int(max_upload_mb * 1024 * 1024), max_pixels=max_pixels)
    ctx = StudioContext(runs_dir=runs_dir, models_dir=models_dir, given=list(models or []), limits=limits,
                        device=device)
    app = build_app(ctx, concurrency=concurrency)
    url = launch(app, ctx, host=host, port=port, quiet=True)
    typer.echo(f"ganforge studio on {url} (Ctrl-C stops it)")

    def stop(signum: int, frame: Any) -> None:  # a kill stops it as Ctrl-C does: server closed, temp files removed
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        app.block_thread()
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.close()
        ctx.close()
