"""What every training run has (data, resolution, budget, seed, precision, output); a task's own options live in
its folder (tasks/<task>/config.py) and are held in `TrainConfig.options`. Unknown keys are errors."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError
from ganforge.options import TaskOptions, check_range, fields_by_name, flag_of, foreign_option_error, option
from ganforge.registry import MODELS

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
RECORDED_KEYS = ("precision_used",)  # written into a run's config.json by the trainer: what the run really used
CONFIG_VERSION = 2  # config.json layout: 2 holds the run's fields and its task's (1: every task's fields, flat)
RENAMED = {"frames": "clip_frames"}  # old field name -> new, accepted from the API and migrated in old config.json
# Seeds: numpy's legacy seeding takes 0..2**32-1, np.random.default_rng (inpaint masks, superres pairs) no negatives,
# torch.manual_seed < 2**64: 0..2**32-1 keeps every seed derived from it in all three ranges as well, seed * 1_000_003
# + epoch (data order), seed + 7919 * (rank + 1) + step (per-process noise), seed * 2 + 2 + 1000 * rank (cyclegan pools).
SEED_MAX = 2**32 - 1
KIMG_MAX = 1e9  # kimg-counted settings (budgets, intervals) become int(kimg * 1000) images: a sane, exact bound
INT_MAX = 2**63 - 1  # what torch and numpy take for a C long: a larger integer is an OverflowError deep inside them
DEFAULT_KIMG = 100.0  # the budget when neither --kimg nor --minutes is given


@dataclass(init=False)
class TrainConfig:
    """One training run: the fields every run has, and `options`, its task's own. Built from flat keys (the CLI's
    options, `ganforge.train(**kwargs)`, config.json); a task's options read as attributes too (`config.l1_weight`)."""

    task: str = option("image", "What to train (tasks/<task>/).", cli=False)
    model: str | None = option(None, "Network family.", default_help="the task's first")
    data: str = option("emoji", "Built-in name, prepared dataset dir, or folder/zip of images.")
    resolution: int = option(32, "Image side in pixels.", minimum=4)
    batch: int | None = option(None, "Global batch size, split across processes.", above=0)
    kimg: float | None = option(None, "Budget in thousands of real images shown.", above=0,
                                default_help="100 when no --minutes")
    minutes: float | None = option(None, "Budget in wall-clock minutes (the first budget reached ends the run).",
                                   above=0)
    out: str = option("runs", "Parent folder of run directories.", flag="--runs-dir", old_flag="--out")
    name: str | None = option(None, "Run directory name. A folder that holds a run with checkpoints is refused "
                              "(continue it with --resume); one whose run was stopped before its first checkpoint is "
                              "started again in place, from step 0.", default_help="<task>-<model>-<data>-<res>, "
                              "numbered")
    seed: int = option(0, "Seed for weights, data order and noise.")
    precision: str = option("auto", "auto | fp32 | bf16 | fp16 (GPU only). auto: bf16 on a GPU or a CPU with native "
                            "bf16 if one step's gradients agree with fp32's, else fp32.", choices=PRECISIONS)
    compile: bool = option(False, "torch.compile the networks (GPU; slow first steps).")
    channels_last: bool = option(True, "NHWC memory format for convolutional networks.")
    strict: bool = option(False, "Bad image files are errors, not skipped.")
    ema_kimg: float | None = option(None, "Generator EMA half-life in kimg (0 = off).", minimum=0)
    ema_rampup: float = option(0.05, "EMA half-life at most this fraction of the images shown so far.", minimum=0)
    lr_decay_start: float | None = option(None, "Fraction of the --kimg budget after which learning rates fall "
                                          "linearly to 0 (1 = constant).", minimum=0, maximum=1)
    tick_kimg: float = option(1.0, "Log statistics every N kimg.", flag="--tick", above=0)
    sample_every_kimg: float = option(10.0, "Sample grid every N kimg.", flag="--sample-every", above=0)
    checkpoint_every_kimg: float = option(50.0, "Checkpoint every N kimg (and at the end, Ctrl-C, SIGTERM).",
                                          flag="--checkpoint-every", above=0)
    keep_checkpoints: int = option(3, "Checkpoints kept.", flag="--keep", minimum=1)
    grid_size: int = option(64, "Images in each sample grid.", above=0)
    options: TaskOptions = dataclasses.field(default=None, metadata={"cli": False})  # type: ignore[assignment]

    def __init__(self, task: str = "image", *, options: TaskOptions | None = None, **values: Any) -> None:
        from ganforge.tasks.spec import task_spec

        spec = task_spec(task)  # an unknown task: one line that lists them
        values = renamed_keys(values)
        for f in dataclasses.fields(TrainConfig):
            if f.name not in ("task", "options"):
                value = values.pop(f.name, None)
                object.__setattr__(self, f.name, f.default if value is None else value)
        object.__setattr__(self, "task", task)
        if options is None:
            options = make_options(spec.options, task, values)
        elif not isinstance(options, spec.options):
            raise ConfigError(f"task {task} takes {spec.options.__name__}, not {type(options).__name__}")
        else:  # dataclasses.replace(config, ...): a copy of the options, with any of their fields changed
            check_own_keys(spec.options, task, values)
            options = dataclasses.replace(options, **{k: v for k, v in values.items() if v is not None})
        object.__setattr__(self, "options", options)

    def __getattr__(self, name: str) -> Any:
        """A task's option reads as an attribute of the run's config; another task's is an AttributeError."""
        options = self.__dict__.get("options")
        if name.startswith("__") or options is None:
            raise AttributeError(name)
        return getattr(options, name)

    def __setattr__(self, name: str, value: Any) -> None:
        """Setting a task's option sets it in `options`, where config.json reads it."""
        options = self.__dict__.get("options")
        if options is not None and name not in fields_by_name(TrainConfig) and name in fields_by_name(options):
            setattr(options, name, value)
        else:
            object.__setattr__(self, name, value)

    @property
    def kimg_budget(self) -> float | None:
        """The kimg budget in force: explicit, else 100 when no time budget is given."""
        return budget(self.kimg, self.minutes)

    @property
    def option_fields(self) -> dict[str, dataclasses.Field]:
        """The run's fields and its task's, by name (not `task` and `options` themselves)."""
        own = {n: f for n, f in fields_by_name(TrainConfig).items() if n not in ("task", "options")}
        return {**own, **fields_by_name(self.options)}

    def resolved(self) -> TrainConfig:
        """A copy with every model- and task-dependent default filled in (its options' MODELS and DEFAULTS)."""
        out = copy.deepcopy(self)
        opts = out.options
        if out.model is None:
            out.model = opts.default_model()
        for defaults in (opts.MODELS.get(out.model, opts.MODELS[opts.default_model()]), opts.DEFAULTS):
            for key, value in defaults.items():
                holder = out if key in fields_by_name(TrainConfig) else opts
                if getattr(holder, key) is None:
                    setattr(holder, key, value)
        opts.resolve(out)
        return out

    def _check_model(self) -> None:
        from ganforge.tasks.spec import task_specs

        models = tuple(self.options.MODELS)
        if self.model is None or self.model in models:
            return
        owner = next((s.name for s in task_specs(include_hidden=False) if self.model in s.options.MODELS), None)
        takes = f"task {self.task} takes --model {' or '.join(models)}"
        if owner is not None:
            raise ConfigError(f"--model {self.model} belongs to task {owner}; {takes}")
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r}; {takes}")
        # A model registered (MODELS) by no task's options: it takes the task's first model's defaults.

    def _check_numbers(self) -> None:
        """Every number finite and in the range the code that reads it takes (seeds, kimg counts, C longs): an
        `inf` or a 20-digit seed is a one-line error here, not an OverflowError once training has started."""
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= SEED_MAX:
            raise ConfigError(f"--seed must be an integer in 0..{SEED_MAX} (2**32 - 1, the range numpy's seeds take), "
                              f"got {self.seed!r}")
        for name, f in self.option_fields.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{flag_of(f)} must be a finite number, got {value}")
            if "kimg" in name and abs(value) > KIMG_MAX:
                raise ConfigError(f"{flag_of(f)} must be at most {KIMG_MAX:g} kimg, got {value:g}")
            if isinstance(value, int) and abs(value) > INT_MAX:
                raise ConfigError(f"{flag_of(f)} is too large ({value}); it must be below 2**63")

    def validate(self) -> TrainConfig:
        """Reject impossible values before any work starts; returns the resolved config."""
        self._check_numbers()
        self._check_model()
        for name, f in self.option_fields.items():  # what was given, before defaults that may depend on it
            check_range(f, getattr(self, name))
        self.options.check_given(self)
        self = self.resolved()
        for name, f in self.option_fields.items():
            check_range(f, getattr(self, name))
        if self.lr_decay_start < 1 and self.kimg_budget is None:
            default = f" ({self.task}'s default)" if self.lr_decay_start == self.options.DEFAULTS.get(
                "lr_decay_start") else ""
            raise ConfigError(
                f"--lr-decay-start {self.lr_decay_start:g}{default} decays learning rates over the --kimg budget, and "
                "--minutes alone gives none: give --kimg (with or without --minutes) or --lr-decay-start 1"
            )
        self.options.check(self)
        return self

    def for_dataset(self, count: int) -> TrainConfig:
        """A copy with data-dependent defaults filled in (the image task's `--augment auto`)."""
        options = self.options.for_dataset(count)
        if options is self.options:
            return self
        out = copy.copy(self)
        out.options = options
        return out

    def to_dict(self) -> dict[str, Any]:
        """Flat: the run's fields, then its task's, and the layout version."""
        run = {n: getattr(self, n) for n in fields_by_name(TrainConfig) if n != "options"}
        return {**run, **dataclasses.asdict(self.options), "config_version": CONFIG_VERSION}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict; unknown keys are an error that names them (facts a run records beside its settings in
        config.json, RECORDED_KEYS, are not settings and are left out)."""
        values = {k: v for k, v in values.items() if k not in (*RECORDED_KEYS, "config_version")}
        return cls(**values)

    def save(self, path: Path) -> None:
        from ganforge.engine.atomic import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        """A run's config.json, from this version or an earlier one (migrated: `migrate`)."""
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        if not isinstance(values, dict):
            raise ConfigError(f"cannot read config {path}: not a JSON object")
        return cls.from_dict(migrate(values))


def make_options(cls: type[TaskOptions], task: str, values: dict[str, Any]) -> TaskOptions:
    """A task's options from flat keys (see check_own_keys)."""
    check_own_keys(cls, task, values)
    own = fields_by_name(cls)
    return cls(**{k: v for k, v in values.items() if k in own})


def check_own_keys(cls: type[TaskOptions], task: str, values: dict[str, Any]) -> None:
    """A key the task does not read is an error naming the tasks that do, unless it changes nothing: None (unset),
    or the value its readers take by default or declare inert (`--augment none`, `--no-cond`)."""
    from ganforge.tasks.spec import task_spec

    own = fields_by_name(cls)
    unknown = sorted(k for k in values if k not in own and not readers_of(k))
    if unknown:
        raise ConfigError(f"unknown config keys for task {task}: {', '.join(unknown)}; its keys: "
                          f"{', '.join(sorted({*fields_by_name(TrainConfig), *own} - {'options'}))}")
    for name, value in values.items():
        if name in own or value is None or value is False:  # unset, or a switch left off
            continue
        readers = readers_of(name)
        fields = [fields_by_name(task_spec(r).options)[name] for r in readers]
        if all(value == f.default or value in (f.metadata.get("inert") or ()) for f in fields):
            continue  # what every task that reads it does when it is not given
        raise foreign_option_error(task, flag_of(fields[0]), readers, fields[0].metadata.get("elsewhere"))


def renamed_keys(values: dict[str, Any]) -> dict[str, Any]:
    """Keys under their current names (RENAMED); an old and a new name with different values is an error."""
    out = {k: v for k, v in values.items() if k not in RENAMED}
    for old, new in RENAMED.items():
        if old in values:
            if values.get(new) is not None and values[old] is not None and values[new] != values[old]:
                raise ConfigError(f"{old} {values[old]} and {new} {values[new]} disagree: {old} is the old name of "
                                  f"{new}; give only {new}")
            out[new] = values[new] if values.get(new) is not None else values[old]
    return out


def readers_of(name: str) -> list[str]:
    """The tasks whose options include `name`, with the flag they give it."""
    from ganforge.tasks.spec import task_specs

    return [s.name for s in task_specs(include_hidden=False) if name in fields_by_name(s.options)]


def migrate(values: dict[str, Any]) -> dict[str, Any]:
    """An earlier config.json in this version's layout. Version 1 held every task's fields, flat, with None (or a
    value the task ignored) for those of other tasks: those are dropped, and renamed fields take their new names."""
    version = values.get("config_version", 1)
    if not isinstance(version, int) or version > CONFIG_VERSION:
        raise ConfigError(f"this config.json is version {version!r}, written by a newer ganforge than this one (reads "
                          f"up to {CONFIG_VERSION}): upgrade ganforge")
    if version == CONFIG_VERSION:
        return values
    from ganforge.tasks.spec import task_spec

    if values.get("extra"):
        raise ConfigError(f"this config.json holds task options ganforge no longer reads: extra = {values['extra']}")
    values = renamed_keys({k: v for k, v in values.items() if k != "extra"})
    known = set(fields_by_name(TrainConfig)) | set(fields_by_name(task_spec(values.get("task", "image")).options))
    return {k: v for k, v in values.items() if k in known or k in RECORDED_KEYS}


def budget(kimg: float | None, minutes: float | None) -> float | None:
    """The kimg budget in force: explicit, else DEFAULT_KIMG when no time budget is given."""
    return DEFAULT_KIMG if kimg is None and minutes is None else kimg


def field_default(name: str) -> Any:
    """The default of one TrainConfig field."""
    return fields_by_name(TrainConfig)[name].default
