"""A task's spec: the one record that ties its config, Task, pipeline, evaluator and CLI verbs together.

Every folder under `ganforge/tasks/` whose `__init__.py` calls `register_spec(TaskSpec(...))` is a task, found by
`discover()`; a package outside ganforge adds one the same way and announces it with an entry point in the
`ganforge.tasks` group (`[project.entry-points."ganforge.tasks"] my-task = "my_package.my_task"`). Nothing outside a
task's folder names it: the train command, `ganforge.load`, `ganforge eval`, `ganforge sample` and the CLI's verbs
all go through these specs. Parts are named by module so that importing the tasks does not import every pipeline,
evaluator and command line.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganforge.registry import Registry

ENTRY_POINT_GROUP = "ganforge.tasks"


@dataclass(frozen=True)
class TaskSpec:
    """What one task brings; `ganforge train NAME` and the rest find it here."""

    name: str  # `ganforge train NAME`, and the name its runs record in config.json
    summary: str  # one line for `ganforge train --help`
    task: str  # module that registers its Task class (TASKS.register(name))
    options: type | None = None  # its config dataclass (a TaskOptions): the train options only this task reads
    pipelines: tuple[str, ...] = ()  # modules that register the pipelines its models load as (PIPELINES)
    evaluators: tuple[str, ...] = ()  # modules that register the evaluators of those pipelines (EVALUATORS)
    commands: tuple[str, ...] = ()  # modules with a VERBS dict, {command name: Typer function}, of its own CLI verbs
    hidden: bool = False  # left out of `ganforge train --help` (the template)
    studio: tuple[str, ...] = ()  # modules with a TABS list of its web studio tabs (ganforge.studio.tabs.StudioTab)

    def load_task(self) -> type:
        from ganforge.registry import TASKS

        importlib.import_module(self.task)
        return TASKS.get(self.name)


PARTS = {"pipelines": "pipeline", "evaluators": "evaluate", "commands": "cli", "studio": "studio"}  # part -> file


def folder_spec(package: str, summary: str, options: type, *, parts_from: str | None = None,
                hidden: bool = False) -> TaskSpec:
    """The spec of a task folder laid out as tasks/template/ is: named after the folder, its Task in task.py, and
    its pipeline.py, evaluate.py, cli.py and studio.py where they exist (in `parts_from` for parts another package holds)."""
    import importlib.util

    home = parts_from or package
    found = {kind: tuple(m for m in (f"{home}.{file}",) if importlib.util.find_spec(m) is not None)
             for kind, file in PARTS.items()}
    return TaskSpec(name=package.rsplit(".", 1)[-1], summary=summary, task=f"{package}.task", options=options,
                    hidden=hidden, **found)


SPECS: Registry = Registry("task")
_discovered = False


def register_spec(spec: TaskSpec) -> TaskSpec:
    """Called once by a task package's `__init__.py`; a spec that cannot work is refused here, by name."""
    if spec.name in SPECS and SPECS.get(spec.name) == spec:
        return spec  # the same package imported twice (as ganforge.tasks.x and through an entry point)
    check_spec(spec)
    SPECS.register(spec.name)(spec)
    return spec


def check_spec(spec: TaskSpec) -> None:
    """Its options a TaskOptions dataclass with at least one model, whose fields do not shadow the run's and
    whose annotations resolve (the train command reads its options' types from them)."""
    import dataclasses
    import typing

    from ganforge.config import TrainConfig
    from ganforge.options import TaskOptions, fields_by_name

    options = spec.options
    if not (isinstance(options, type) and issubclass(options, TaskOptions) and dataclasses.is_dataclass(options)):
        raise TypeError(f"task {spec.name}: options must be a TaskOptions dataclass, got {options!r}")
    if not options.MODELS or "" in options.MODELS:
        raise TypeError(f"task {spec.name}: {options.__name__}.MODELS must name its models")
    clash = sorted(set(fields_by_name(options)) & set(fields_by_name(TrainConfig)))
    if clash:
        raise TypeError(f"task {spec.name}: {options.__name__} redefines the run's fields {', '.join(clash)}")
    typing.get_type_hints(options)  # a NameError here, not when the command line is built


def discover() -> None:
    """Import every task package under ganforge/tasks and every one announced by an entry point, once."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import ganforge.tasks as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.ispkg:
            importlib.import_module(f"{package.__name__}.{info.name}")
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as exc:  # a broken plugin must not take every command down with it
            logging.getLogger(__name__).warning("task plugin %s (%s) failed to load: %s", entry.name, entry.value, exc)


def import_guarded(spec: TaskSpec, module: str) -> Any:
    """Import one of a task's modules. A plugin's that fails is a warning and the plugin is dropped (its task is
    then unknown); a built-in one's failure is a bug and raises."""
    try:
        return importlib.import_module(module)
    except Exception as exc:
        if spec.task.startswith("ganforge."):
            raise
        logging.getLogger(__name__).warning("task plugin %s: %s failed to import (%s); the task is left out",
                                            spec.name, module, exc)
        SPECS.discard(spec.name)
        return None


def task_spec(name: str) -> TaskSpec:
    """The spec of one task; an unknown name is a one-line error that lists the tasks."""
    discover()
    if name not in SPECS:
        from ganforge.errors import ConfigError

        shown = [s.name for s in task_specs(include_hidden=False)]
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(shown)}")
    return SPECS.get(name)


def task_specs(include_hidden: bool = True) -> list[TaskSpec]:
    discover()
    specs = [SPECS.get(name) for name in SPECS.names()]
    return [spec for spec in specs if include_hidden or not spec.hidden]


def import_parts(kind: str) -> None:
    """Import one kind of part ("pipelines", "evaluators", "commands", "studio") of every task, so its registry is full; and
    each task module, whose networks its models' configs name (NETWORKS)."""
    for spec in task_specs():
        for module in (spec.task, *getattr(spec, kind)):
            import_guarded(spec, module)


def task_verbs() -> dict[str, Callable[..., Any]]:
    """Every task's own CLI verbs, {command name: function}; two tasks may share one (pix2pix, cyclegan: translate)."""
    verbs: dict[str, Callable[..., Any]] = {}
    for spec in task_specs():
        for module in spec.commands:
            loaded = import_guarded(spec, module)
            for name, function in (getattr(loaded, "VERBS", None) or {}).items():
                if verbs.setdefault(name, function) is not function:
                    raise ValueError(f"two tasks define the command {name!r}")
    return verbs
