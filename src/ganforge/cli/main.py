"""The `ganforge` command: one Typer app; each command only parses, validates and calls the API."""

from __future__ import annotations

import logging
import sys

import typer

from ganforge.cli.demo import demo_command
from ganforge.cli.eval import eval_command
from ganforge.cli.export import export_command
from ganforge.cli.models import models_command
from ganforge.cli.options import drop_notes, flush_notes
from ganforge.cli.sample import sample_command
from ganforge.cli.studio import studio_command
from ganforge.cli.train import train_app
from ganforge.errors import GanforgeError
from ganforge.tasks.spec import task_verbs

app = typer.Typer(
    name="ganforge",
    help="Train, evaluate and use GANs for image and video generation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[default: 64]" must print, not be read as markup
    add_completion=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _register() -> None:
    from ganforge.cli.data import data_app
    from ganforge.cli.provenance import provenance_app

    app.add_typer(data_app, name="data", help="Built-in datasets and prepared datasets.")
    app.add_typer(train_app(), name="train")
    app.command("sample")(sample_command)
    for name, verb in task_verbs().items():  # each task's own commands (tasks/<task>/cli.py)
        app.command(name)(verb)
    app.command("export")(export_command)
    app.command("eval")(eval_command)
    app.command("demo")(demo_command)
    app.command("models")(models_command)
    app.command("studio")(studio_command)
    app.add_typer(provenance_app(), name="provenance", help="Check files for ganforge's watermark and metadata.")


_register()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if ctx.invoked_subcommand is None and not version:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    if version:
        from ganforge import __version__

        typer.echo(__version__)
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and a non-zero exit code; deprecation notes follow."""
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    drop_notes()
    try:
        return _run(argv)
    finally:
        flush_notes()


def _run(argv: list[str] | None) -> int:
    try:
        app(args=argv, prog_name="ganforge")
    except SystemExit as exc:  # click's own exit (help, usage errors, typer.Exit)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except GanforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # unwritable --out, full disk, missing file: the OS's words, one line
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
