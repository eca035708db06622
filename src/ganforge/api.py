"""The Python API, mirrored by the CLI: `ganforge.train(...)` and `ganforge.load(path)`."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganforge.config import TrainConfig, field_default
from ganforge.errors import CheckpointError, ConfigError, GanforgeError
from ganforge.options import fields_by_name

# Options that may change when a run is resumed: budgets and bookkeeping, never the model or data.
RESUME_OVERRIDABLE = {
    "kimg", "minutes", "tick_kimg", "sample_every_kimg", "checkpoint_every_kimg", "keep_checkpoints", "precision",
    "compile", "grid_size", "eval_every_kimg", "eval_n",
}


def resolve_resume_config(run_dir: Path, overrides: dict[str, Any]) -> TrainConfig:
    """The saved config of `run_dir` with allowed overrides; other changes are errors."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"cannot resume: {run_dir} is not a run directory (no config.json)")
    from ganforge.config import renamed_keys

    saved = TrainConfig.load(path)
    overrides = renamed_keys(overrides)
    values = saved.to_dict()
    resolved = saved.resolved().to_dict()  # a run saved before a field existed holds None where it now resolves
    asked = {k: overrides.get(k) for k in ("task", "model")}
    if any(v is not None and v not in (values[k], resolved[k]) for k, v in asked.items()):
        said = ", ".join(f"{k} {v}" for k, v in asked.items() if v is not None)
        raise ConfigError(f"{run_dir} is a run of task {resolved['task']}, model {resolved['model']}; it cannot be "
                          f"resumed as {said}: resume it with `ganforge train {resolved['task']} --resume {run_dir}`")
    for key, value in overrides.items():
        if value is None or value in (values.get(key), resolved.get(key)) or key in ("out", "name"):
            continue
        if key not in RESUME_OVERRIDABLE:
            raise ConfigError(
                f"cannot change {key} when resuming (run has {values.get(key)!r}, asked for {value!r}); "
                f"only {', '.join(sorted(RESUME_OVERRIDABLE))} may change"
            )
        values[key] = value
    return TrainConfig.from_dict(values)


def unique_run_dir(config: TrainConfig) -> Path:
    """`<out>/<name>`, where the default name says what is trained and never reuses a folder."""
    root = Path(config.out)
    if config.name:
        return root / config.name
    data_name = Path(config.data).name if ("/" in config.data or "\\" in config.data) else config.data
    base = f"{config.task}-{config.model}-{data_name}-{config.resolution}".replace(":", "-")
    candidate, i = root / base, 2
    while candidate.exists():
        candidate, i = root / f"{base}-{i}", i + 1
    return candidate


def new_run_config(config: TrainConfig | None, overrides: dict[str, Any]) -> TrainConfig:
    """A new run's config: `config` (or the defaults) with the non-None overrides; fields left out entirely take
    the task's default where it has its own (its options' NEW_RUN_DEFAULTS: the video tasks' data and frame size)."""
    from ganforge.tasks.spec import task_spec

    base = config.to_dict() if config is not None else {}
    if config is not None and overrides.get("task") not in (None, config.task):  # another task: the run's fields only
        base = {k: v for k, v in base.items() if k in fields_by_name(TrainConfig)}
    base.update({k: v for k, v in overrides.items() if v is not None})
    for key, value in task_spec(base.get("task", "image")).options.NEW_RUN_DEFAULTS.items():
        if key not in overrides or overrides[key] is None:
            if key not in base or base[key] == field_default(key):  # a config object's untouched field counts as unset
                base[key] = value
    return TrainConfig.from_dict(base)


def train(
    config: TrainConfig | None = None,
    *,
    resume: str | Path | None = None,
    on_progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_data_progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
    data_memo: dict[str, Any] | None = None,
    **overrides: Any,
):
    """Train a model; returns a TrainResult. Keyword overrides are TrainConfig fields.

    With `resume`, the run directory's saved config is used and only budgets may change; the task and model are the
    run's (naming others is an error). A run killed before its first checkpoint starts again from step 0 in its own
    folder, on `resume` or when a new run names it; one with checkpoints is never started over. A `data_memo` dict
    passed to a dry run and then to the real one loads the data once (moving clips are drawn, not cached).
    """
    from accelerate.utils import broadcast_object_list

    import ganforge.tasks  # noqa: F401  (registers tasks, models, losses)
    from ganforge.engine.rundir import RunLock, check_plain_rerun
    from ganforge.engine.runtime import make_accelerator
    from ganforge.engine.trainer import Trainer, resolve_precision

    resume_from: Path | None = None
    restart = False  # a run that never checkpointed, started again from step 0 in its own folder
    if resume is not None:
        run_dir, resume_from = resolve_resume_target(Path(resume))
        cfg = resolve_resume_config(run_dir, overrides)  # `config` is ignored: the run's own is used
        restart = resume_from is None
    else:
        cfg = new_run_config(config, overrides)
        run_dir = None
    cfg = cfg.validate()
    if resume is None and getattr(cfg, "init", None):
        from ganforge.engine.init_weights import check_init_source

        check_init_source(cfg.init)  # a new run's starting weights exist, before any data is prepared

    accelerator = make_accelerator()
    resolve_precision(cfg.precision, accelerator.device)  # fp16 on a CPU fails here, before any work
    if cfg.batch % accelerator.num_processes:
        raise ConfigError(f"--batch {cfg.batch} must be divisible by the number of processes ({accelerator.num_processes})")
    from ganforge.tasks.spec import task_spec

    task_cls = task_spec(cfg.task).load_task()
    memo_key = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    if data_memo is not None and memo_key in data_memo:
        data = data_memo[memo_key]
    else:
        data = task_cls.load_data(cfg, progress=on_data_progress)  # images, pairs or domains: the task says
        if data_memo is not None:
            data_memo.clear()
            data_memo[memo_key] = data
    info = data.info
    if info.resolution != cfg.resolution:
        raise ConfigError(f"dataset {cfg.data} is {info.resolution} px but --resolution is {cfg.resolution}")
    cfg = cfg.for_dataset(info.count)
    if run_dir is None:
        holder = [str(unique_run_dir(cfg)) if accelerator.is_main_process else None]
        if accelerator.num_processes > 1:
            broadcast_object_list(holder)
        run_dir = Path(holder[0])  # type: ignore[arg-type]
        restart = check_plain_rerun(run_dir)  # a run with checkpoints is an error; one without starts again
    if dry_run:
        from ganforge.engine.trainer import check_task_fits

        check_task_fits(task_cls, cfg, info)  # on the meta device: widths too big for memory fail here, in one line
        task = task_cls(cfg, info)  # builds the networks: bad model/size combinations fail here
        if resume_from is None:
            task.start_fresh()  # and a bad --init run (a resume no longer reads it)
        start = (f"resume from {resume_from}" if resume_from is not None else
                 "step 0, in place of a run that never checkpointed" if restart else "step 0")
        return {"run_dir": str(run_dir), "config": cfg.to_dict(), "data": dataclasses.asdict(info), "start": start}

    # An existing run's folder is locked before anything in it changes (the resume's metrics truncation included); a
    # new one is made and locked only once everything is built, so a failure leaves no half-made run directory.
    lock = RunLock(run_dir)
    main = accelerator.is_main_process
    try:
        if main and run_dir.exists():
            prepare_run_dir(lock, run_dir, resume, resume_from)
        trainer = Trainer(
            cfg, data, None, info, run_dir, resume_from=resume_from,
            on_progress=on_progress, should_stop=should_stop, accelerator=accelerator,
            evaluator=make_evaluator(data.arrays["image"], cfg.eval_n) if getattr(cfg, "eval_every_kimg", None) else None,
        )
        if main:
            from ganforge.engine.atomic import atomic_write_text

            if not lock.held:  # a new folder: made now, and checked again under the lock (a twin run may race)
                prepare_run_dir(lock, run_dir, resume, resume_from)
            values = {**cfg.to_dict(), "precision_used": trainer.runtime.policy.summary()}  # what the run computes in
            atomic_write_text(run_dir / "config.json", json.dumps(values, indent=2, sort_keys=True) + "\n")
            atomic_write_text(run_dir / "data.json", json.dumps(dataclasses.asdict(info), indent=2) + "\n")
            atomic_write_text(run_dir / "model.json", json.dumps(trainer.task.export_spec(), indent=2) + "\n")
        accelerator.wait_for_everyone()
        return trainer.fit()
    finally:
        lock.release()


def prepare_run_dir(lock: Any, run_dir: Path, resume: str | Path | None, resume_from: Path | None) -> None:
    """Lock the run's folder (a RunLock), check again under the lock what the run starts from, and clear what kills
    left: temporary files of interrupted saves, and the outputs of a run that is started again from step 0."""
    from ganforge.engine.rundir import check_plain_rerun, clear_for_restart, remove_stale_leftovers

    lock.acquire()
    if resume is not None:
        if resolve_resume_target(Path(resume))[1] != resume_from:
            raise ConfigError(f"run {run_dir} checkpointed while this resume was starting: run the command again")
        restart = resume_from is None
    else:
        restart = check_plain_rerun(run_dir)
    remove_stale_leftovers(run_dir)
    if restart:
        clear_for_restart(run_dir)
        logging.getLogger("ganforge").warning(
            "%s holds no complete checkpoint (it stopped before its first save): starting it again from step 0 in "
            "place", run_dir)


def make_evaluator(real_images: Any, n: int) -> Callable[[Any], dict[str, float]]:
    """FID/KID/precision/recall of the trainer's EMA generator against the training images."""

    def evaluate(trainer: Any) -> dict[str, float]:
        from ganforge.metrics import compute_metrics
        from ganforge.pipelines import PIPELINES
        from ganforge.tasks.spec import import_parts

        import_parts("pipelines")

        spec = trainer.task.export_spec()
        network = trainer.inference_network()
        pipe = PIPELINES.get(spec["pipeline"])({"generator": network}, spec).to(next(network.parameters()).device)
        count = min(n, len(real_images))
        result = compute_metrics(real_images, pipe, n=count)
        return {k: float(v) for k, v in result.items()  # figures only: KID's subset settings are not metrics
                if k.startswith(("fid", "kid", "precision", "recall")) and not k.startswith("kid_subset")}

    return evaluate


def resolve_resume_target(path: Path) -> tuple[Path, Path | None]:
    """(run directory, checkpoint to restore) for `--resume RUN` or `--resume RUN/checkpoints/kimg-...`; no
    checkpoint (None) for a run killed before its first save, which starts again from step 0.

    A named checkpoint must be the newest: resuming an older one would let pruning delete the
    newer ones (they sort after it), so the user moves them away first.
    """
    from ganforge.engine.checkpoint import STATE_JSON, latest_checkpoint, list_checkpoints
    from ganforge.engine.rundir import complete_checkpoints

    if (path / STATE_JSON).is_file():
        run_dir = path.parent.parent
        newer = [p.name for p in list_checkpoints(path.parent) if p.name > path.name]
        if newer:
            raise ConfigError(
                f"{path.name} is not the newest checkpoint of {run_dir} (newer: {', '.join(newer)}); to roll back, "
                f"move the newer ones out of {path.parent} first"
            )
        return run_dir, path
    if not (path / "config.json").is_file():
        raise CheckpointError(f"cannot resume: {path} is neither a run directory nor a checkpoint folder")
    if not list_checkpoints(path / "checkpoints"):
        best = complete_checkpoints(path)
        if best:  # only the best-FID one: starting over would replace it
            raise CheckpointError(f"cannot resume {path}: it has no checkpoint to continue from, only its best-FID "
                                  f"{best[-1]}; move that folder away to start the run again from step 0")
        return path, None  # killed before its first save: the run starts again from step 0, in place
    return path, latest_checkpoint(path)


def load(path: str | Path, device: str | None = None, runtime: str = "torch"):
    """A ready pipeline from a run directory, a checkpoint folder, an exported model directory or a shipped model
    (`zoo:NAME`, see `ganforge models`); `device` may be "auto" (a GPU when there is one), as on the command line.
    `runtime="onnx"`: an export written with `--format onnx` or `both`, its networks run by ONNX Runtime (which
    picks its own device: its providers)."""
    from ganforge.devices import resolve_device
    from ganforge.pipelines import load_pipeline
    from ganforge.zoo import is_zoo_name, resolve_model_path, zoo_card

    if runtime not in ("torch", "onnx"):
        raise GanforgeError(f"runtime must be torch or onnx, got {runtime!r}")
    if runtime == "onnx":
        from ganforge.pipelines.onnx import load_onnx_pipeline

        return load_onnx_pipeline(resolve_model_path(path))
    pipe = load_pipeline(resolve_model_path(path))
    if is_zoo_name(path):  # its card names the data it learned, for `ganforge eval zoo:NAME`
        pipe.config["source"] = {"zoo": str(path), "data": zoo_card(path).data}
    return pipe.to(resolve_device(device)) if device else pipe
