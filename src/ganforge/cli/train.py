"""`ganforge train TASK ...`: one command per task, its options generated from the run's fields and the task's
config dataclass (tasks/<task>/config.py), so `ganforge train TASK --help` lists exactly what that task reads."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from ganforge.cli.options import as_typed, flush_notes, renamed
from ganforge.cli.progress import DataProgress, TrainingProgress, err_console
from ganforge.config import TrainConfig, readers_of
from ganforge.options import fields_by_name, flag_of
from ganforge.tasks.spec import TaskSpec, task_specs

TYPES = (bool, int, float, str)
UNTIL = {"out": "the parent folder of run directories"}  # why an old name stays longer than one release


def train_app() -> typer.Typer:
    """`ganforge train`: a group with one command per registered task."""
    app = typer.Typer(help="Train a GAN. `ganforge train TASK --help` lists the options of that task. Writes "
                      "config.json, checkpoints/, samples/, metrics.jsonl and report.html into the run directory.",
                      no_args_is_help=True, rich_markup_mode=None)
    for spec in task_specs():
        app.command(spec.name, help=f"{spec.summary} Writes config.json, checkpoints/, samples/, metrics.jsonl and "
                    "report.html into the run directory.", short_help=spec.summary, hidden=spec.hidden,
                    cls=TaskTrainCommand, no_args_is_help=False)(train_command(spec))
    return app


def option_fields(spec: TaskSpec) -> list[dataclasses.Field]:
    """The fields a task's train command offers: the run's, then the task's own, each with a CLI option."""
    run = [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("cli", True)]
    return run + [f for f in dataclasses.fields(spec.options) if f.metadata.get("cli", True)]


def train_command(spec: TaskSpec) -> Any:
    """The Typer function of `ganforge train <spec.name>`; its signature is built from the option fields."""
    fields = option_fields(spec)
    owner = {f.name: (TrainConfig if f.name in fields_by_name(TrainConfig) else spec.options) for f in fields}
    params = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=_typer_option(spec, f, owner[f.name]),
                                annotation=_annotation(owner[f.name], f)) for f in fields]
    params += [inspect.Parameter(f"old_{f.name}", inspect.Parameter.KEYWORD_ONLY,
                                 annotation=_annotation(owner[f.name], f),
                                 default=typer.Option(None, f.metadata["old_flag"], hidden=True))
               for f in fields if f.metadata.get("old_flag")]
    params += [
        inspect.Parameter("resume", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None, default=typer.Option(
            None, "--resume", help="Continue a run directory (or checkpoint) exactly; only budgets may change, and "
            "the task (and --model) must be the run's own. A run stopped before its first checkpoint starts again "
            "from step 0 in place.")),
        inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
            False, "--dry-run", help="Validate, resolve the data and print the config; train nothing.")),
    ]

    def command(**given: Any) -> None:
        run_training(spec, fields, given)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = f"train_{spec.name.replace('-', '_')}"
    return command


STOP_WITH_PARENT = "GANFORGE_STOP_WITH_PARENT"  # a pid: the training stops (with a checkpoint) when it has gone


def parent_gone() -> Callable[[], bool] | None:
    """For a training started by another program (the studio) that names itself in STOP_WITH_PARENT: a check that is
    True once that parent has died (this process is then re-parented), so that a killed studio leaves no training."""
    value = os.environ.get(STOP_WITH_PARENT, "")
    if not value.isdigit():
        return None
    parent = int(value)
    return lambda: os.getppid() != parent


def run_training(spec: TaskSpec, fields: list[dataclasses.Field], given: dict[str, Any]) -> None:
    """Merge renamed options, resolve the data under its own bar, then train under a progress bar."""
    from ganforge.api import train

    typed: dict[str, str] = {}
    for f in fields:
        if f.metadata.get("old_flag"):
            until = {"until": UNTIL[f.name]} if f.name in UNTIL else {}
            given[f.name], typed[flag_of(f)] = renamed("train", flag_of(f), given[f.name], f.metadata["old_flag"],
                                                       given.pop(f"old_{f.name}"), **until)
    resume, dry_run = given.pop("resume"), given.pop("dry_run")
    overrides = {k: v for k, v in given.items() if v is not None}  # with --resume, the task must be the run's own
    overrides["task"] = spec.name
    data_memo: dict = {}  # the real run reuses what the dry run loaded
    with as_typed(typed), DataProgress("preparing data") as data_bar:
        plan = train(resume=resume, dry_run=True, on_data_progress=data_bar, data_memo=data_memo, **overrides)
    flush_notes()  # before a run that may take hours, not after it
    if dry_run:
        typer.echo(json.dumps(plan, indent=2))
        return
    resolved = plan["config"]  # budgets as the run will use them (a resumed run's own included)
    total = resolved["kimg"] if resolved["kimg"] is not None else (None if resolved["minutes"] else 100.0)
    with as_typed(typed), TrainingProgress(total, resolved["minutes"]) as bar:
        result = train(resume=resume, on_progress=bar.update, on_data_progress=None, data_memo=data_memo,
                       should_stop=parent_gone(), **overrides)
    summary = (
        f"{result.status}: {result.kimg:.3f} kimg in {result.wall_sec:.0f} s ({result.images_per_sec:.0f} img/s); "
        f"run {result.run_dir}; checkpoint {result.checkpoint}; report {result.run_dir / 'report.html'}"
    )
    err_console.print(summary, highlight=False, soft_wrap=True)
    if result.status == "interrupted":
        err_console.print(f"resume with: ganforge train {spec.name} --resume {result.run_dir}", highlight=False)
        raise typer.Exit(130)


class TaskTrainCommand(TyperCommand):
    """A task's train command: an option of another task is a one-line error that names the tasks taking it."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:  # the click that Typer carries: its NoSuchOption, found by name
            if type(exc).__name__ != "NoSuchOption":
                raise
            from ganforge.options import foreign_option_error

            name = _field_named(exc.option_name)
            readers = readers_of(name) if name else []
            if not readers:
                raise
            raise foreign_option_error(self.name or "?", exc.option_name, readers) from None


def _field_named(flag: str) -> str | None:
    """The option field a flag belongs to in any task, or None."""
    for spec in task_specs():
        for f in option_fields(spec):
            if flag in (flag_of(f), f.metadata.get("old_flag"), f"--no-{flag_of(f)[2:]}"):
                return f.name
    return None


@functools.cache
def _hints(owner: type) -> dict[str, Any]:
    return typing.get_type_hints(owner)


def _annotation(owner: type, f: dataclasses.Field) -> Any:
    """`X | None` for the field's int, float, str or bool (a None default means "the task's"), whether the class
    that declares it wrote its annotations as text (`from __future__ import annotations`) or not."""
    hint = _hints(owner).get(f.name, str)
    base = next((t for t in (*typing.get_args(hint), hint) if t in TYPES), str)
    return base | None


def _typer_option(spec: TaskSpec, f: dataclasses.Field, owner: type) -> Any:
    decl = flag_of(f)
    if _annotation(owner, f) == bool | None:
        decl = f"{decl}/--no-{decl[2:]}"
    text = spec.options.DATA_HELP if f.name == "data" and spec.options.DATA_HELP else f.metadata.get("help", "")
    if f.name == "model":
        text = f"{text.rstrip('.')}: {' | '.join(spec.options.MODELS)}."
    if f.metadata.get("old_flag"):
        text += f" (old name: {f.metadata['old_flag']})"
    return typer.Option(None, decl, help=f"{text} [default: {default_text(spec, f)}]")


def default_text(spec: TaskSpec, f: dataclasses.Field) -> str:
    """What "[default: ...]" says: the task's own default for the field, or its model's, or the field's."""
    opts = spec.options
    if f.name == "model":
        return opts.default_model()
    if f.name in opts.NEW_RUN_DEFAULTS:
        return _shown(opts.NEW_RUN_DEFAULTS[f.name])
    per_model = {m: d[f.name] for m, d in opts.MODELS.items() if f.name in d}
    if per_model:
        values = set(map(_shown, per_model.values()))
        if len(values) == 1 and len(per_model) == len(opts.MODELS):
            return values.pop()
        if f.name in opts.DEFAULTS:
            per_model.update({m: opts.DEFAULTS[f.name] for m in opts.MODELS if m not in per_model})
        return ", ".join(f"{m} {_shown(v)}" for m, v in per_model.items())
    if f.metadata.get("default_help"):
        return f.metadata["default_help"]
    if f.name in opts.DEFAULTS:
        return _shown(opts.DEFAULTS[f.name])
    if f.default is None:
        return "none"
    return _shown(f.default)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)

