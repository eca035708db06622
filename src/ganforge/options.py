"""Train options as declarative dataclass fields: each carries its help, flag and range in its metadata, so the
config, its checks and the `ganforge train TASK` command line all come from one declaration (StyleGAN3's train.py,
StudioGAN's rejection of unknown keys). `TaskOptions` is the base of every task's own options (tasks/<task>/config.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.errors import ConfigError

if TYPE_CHECKING:
    from ganforge.config import TrainConfig


def option(
    default: Any = None,
    help: str = "",  # noqa: A002  (the word Typer uses)
    *,
    flag: str | None = None,  # the command-line flag when it is not `--` + the name in kebab case
    old_flag: str | None = None,  # an earlier spelling, still accepted (with a note) for one more release
    default_help: str | None = None,  # what "[default: ...]" says when the default is worked out (None fields)
    minimum: float | None = None,  # smallest value allowed
    above: float | None = None,  # values must be greater than this
    maximum: float | None = None,  # largest value allowed
    choices: tuple[Any, ...] | None = None,  # the values allowed
    cli: bool = True,  # False: a setting of the Python API and config.json only
    inert: tuple[Any, ...] = (),  # values besides the default that change nothing, so any task lets them through
    elsewhere: str | None = None,  # what a user of another task does instead, for the error that refuses it
) -> Any:
    """A config field that is also a `ganforge train` option."""
    return field(default=default, metadata=dict(help=help, flag=flag, old_flag=old_flag, default_help=default_help,
                                                minimum=minimum, above=above, maximum=maximum, choices=choices,
                                                cli=cli, inert=inert, elsewhere=elsewhere))


def flag_of(f: dataclasses.Field) -> str:
    """The command-line flag of a field, for its option and for error messages."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def fields_by_name(cls_or_obj: Any) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls_or_obj)}


def check_range(f: dataclasses.Field, value: Any) -> None:
    """The range a field's metadata declares; None (a default still to be worked out) passes."""
    if value is None:
        return
    meta, name = f.metadata, flag_of(f)
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        allowed = " or ".join(map(str, choices)) if len(choices) <= 2 else f"one of {', '.join(map(str, choices))}"
        raise ConfigError(f"{name} must be {allowed}, got {value!r}")
    low, above, high = meta.get("minimum"), meta.get("above"), meta.get("maximum")
    if (low, above, high) != (None, None, None) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if low is not None and high is not None and not low <= value <= high:
        raise ConfigError(f"{name} must lie in {low:g}..{high:g}, got {value}")
    if low is not None and value < low:
        raise ConfigError(f"{name} must be {'>= 0' if low == 0 else f'at least {low:g}'}, got {value}")
    if above is not None and value <= above:
        raise ConfigError(f"{name} must be {'positive' if above == 0 else f'> {above:g}'}, got {value}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high:g}, got {value}")


@dataclass
class TaskOptions:
    """The options one task reads, beyond what every run has (config.TrainConfig). A task subclasses it in its
    folder's config.py, one `option()` per field, with the models it takes and their defaults."""

    # model name -> defaults of the fields it leaves None (its own and the run's); the first model is the task's
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {"": {}}
    # the task's defaults for fields (its own and the run's: batch, lr_decay_start) its model leaves None
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    # defaults of the run's fields that a new run takes when it does not name them (the video tasks' data and size)
    NEW_RUN_DEFAULTS: ClassVar[dict[str, Any]] = {}
    # what --data takes for this task, in `ganforge train TASK --help` (empty: the run field's own help)
    DATA_HELP: ClassVar[str] = ""

    @classmethod
    def default_model(cls) -> str:
        return next(iter(cls.MODELS))

    def check_given(self, run: TrainConfig) -> None:
        """Checks that need to know what was given rather than worked out; before any default is filled in."""

    def resolve(self, run: TrainConfig) -> None:
        """Fill in defaults that depend on other settings (after the model's and the task's), in place."""

    def check(self, run: TrainConfig) -> None:
        """Checks of the resolved options beyond the ranges their fields declare."""

    def for_dataset(self, count: int) -> TaskOptions:
        """A copy with data-dependent defaults filled in, once the data set's size is known."""
        return self


def foreign_option_error(task: str, flag: str, readers: list[str], elsewhere: str | None = None) -> ConfigError:
    """The one-line error for an option the task does not read (`flag`; a bare key when no task reads it), naming
    the tasks that do, and what to do instead where the option says."""
    if not readers:
        return ConfigError(f"unknown config key {flag!r} for task {task!r}")
    named = readers[0] if len(readers) == 1 else f"{', '.join(readers[:-1])} and {readers[-1]}"
    return ConfigError(f"{flag} applies to {named}, not to task {task!r}" + (f" ({elsewhere})" if elsewhere else ""))
