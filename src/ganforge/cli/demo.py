"""`ganforge demo`: fetch emoji, train a small DCGAN for a few minutes, write samples and a report."""

from __future__ import annotations

from pathlib import Path

import typer

from ganforge.cli.options import old_name, renamed
from ganforge.cli.progress import DataProgress, TrainingProgress, err_console
from ganforge.errors import DataError


def demo_command(
    minutes: float = typer.Option(5.0, "--minutes", help="Training time."),
    runs_dir: Path | None = typer.Option(None, "--runs-dir", help="Parent folder of the demo run, as train's "
                                         "--runs-dir [default: runs]. (old name: --out)"),
    out: Path | None = old_name("--out"),
    data: str = typer.Option("emoji", "--data", help="Dataset; emoji falls back to digits when it cannot be fetched."),
    seed: int = typer.Option(0, "--seed", help="Seed of the run."),
) -> None:
    """The embedded default: a 32x32 DCGAN on emoji in about five minutes on a laptop CPU."""
    from ganforge.api import load, train
    from ganforge.data import get_builtin
    from ganforge.imaging import make_grid, save_animation, save_image

    out, _ = renamed("demo", "--runs-dir", runs_dir, "--out", out)
    out = Path("runs") if out is None else out
    resolution = 32
    if data == "emoji":
        try:
            builtin = get_builtin("emoji")
            if not builtin.is_cached():
                err_console.print("fetching the emoji dataset (Noto and Twemoji images, about 150 MB)...")
                builtin.fetch()
        except DataError as exc:
            err_console.print(f"[yellow]cannot fetch emoji ({exc}); using the built-in digits instead[/yellow]")
            data, resolution = "digits", 16
    settings = dict(task="image", model="dcgan", data=data, resolution=resolution, batch=64, minutes=minutes,
                    kimg=None, out=str(out), seed=seed, sample_every_kimg=20.0, checkpoint_every_kimg=50.0,
                    tick_kimg=2.0)
    with DataProgress("preparing data") as data_bar:
        train(dry_run=True, on_data_progress=data_bar, **settings)
    err_console.print(f"training a {resolution}x{resolution} DCGAN on {data} for {minutes:g} minutes...")
    with TrainingProgress(None, minutes) as bar:
        result = train(on_progress=bar.update, **settings)
    pipe = load(result.run_dir)
    grid = save_image(make_grid(pipe(n=64, seed=0, output_type="np")), result.run_dir / "demo-grid.png")
    walk = save_animation(pipe.latent_walk([0, 1, 2, 3], frames=60), result.run_dir / "demo-walk.gif")
    typer.echo(f"trained {result.kimg:.1f} kimg in {result.wall_sec / 60:.1f} min ({result.images_per_sec:.0f} img/s)")
    typer.echo(f"samples:  {grid}")
    typer.echo(f"walk:     {walk}")
    typer.echo(f"report:   {result.run_dir / 'report.html'}")
    typer.echo(f"more:     ganforge sample {result.run_dir} --n 16 --out more.png")
