"""The studio's Train tab: a short run of any task as `ganforge train` in a child process (studio/training.py), its
losses and newest sample grid polled from the run folder; Stop checkpoints it, Resume continues it. The run goes
under the studio's runs folder, so the other tabs list it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.studio.context import StudioContext
from ganforge.studio.tabs import StudioTab
from ganforge.studio.training import (
    EXIT_INTERRUPTED,
    TrainingJob,
    last_line,
    latest_checkpoint_name,
    latest_grid,
    latest_kimg,
    list_runs,
    loss_chart,
)
from ganforge.studio.ui import handler

POLL_S = 2.0  # how often an open page reads the run folder while a training runs
FORM_FLAGS = ("--model", "--data", "--resolution", "--kimg", "--minutes", "--batch", "--width")
OWN_FLAGS = ("--runs-dir", "--out", "--name", "--resume", "--dry-run", "--help", "-h")  # the studio sets these


def task_names() -> list[str]:
    from ganforge.tasks.spec import task_specs

    return [s.name for s in task_specs(include_hidden=False)]


def task_form(task: str) -> dict[str, Any]:
    """A task's choices for the form: its models, its data (built-in names where it takes them) and defaults."""
    from ganforge.config import TrainConfig
    from ganforge.data.builtin import builtin_names, parse_builtin
    from ganforge.tasks.spec import task_spec

    opts = task_spec(task).options
    data = str(opts.NEW_RUN_DEFAULTS.get("data", TrainConfig.data))
    return {"models": list(opts.MODELS), "model": opts.default_model(), "data": data,
            "data_choices": builtin_names() if parse_builtin(data) else [data],
            "data_help": opts.DATA_HELP or "built-in name, prepared dataset or folder of images",
            "resolution": int(opts.NEW_RUN_DEFAULTS.get("resolution", 32))}


def more_options(text: str | None) -> list[str]:
    """Further `ganforge train` options typed as on the command line, without those the form or the studio sets."""
    try:
        tokens = shlex.split(text or "")
    except ValueError as exc:
        raise GanforgeError(f"cannot read the further options {text!r}: {exc}") from None
    for token in tokens:
        flag = token.split("=", 1)[0]
        if flag in FORM_FLAGS:
            raise GanforgeError(f"set {flag} in its own field, not among the further options")
        if flag in OWN_FLAGS:
            raise GanforgeError(f"{flag} is set by the studio (a new run goes into its runs folder under a fresh "
                                "name; Resume continues one); leave it out")
    return tokens


def budget_options(kimg: float | None, minutes: float | None) -> list[str]:
    options = []
    if kimg:
        options += ["--kimg", f"{float(kimg):g}"]
    if minutes:
        options += ["--minutes", f"{float(minutes):g}"]
    return options


def new_run(ctx: StudioContext, task: str | None, model: str | None, data: str | None, resolution: float | None,
            kimg: float | None, minutes: float | None, batch: float | None, width: float | None,
            extra: str | None) -> tuple[Path, list[str]]:
    """(a fresh run folder under the runs folder, the options of `ganforge train TASK`), checked as the CLI checks
    them before a process starts: a bad field is a sentence, not a failed run."""
    from ganforge.api import unique_run_dir
    from ganforge.config import TrainConfig

    if task not in task_names():
        raise GanforgeError(f"unknown task {task!r}; choose one of: {', '.join(task_names())}")
    data = str(data or "").strip()
    if not data:
        raise GanforgeError("give the data to train on: a built-in name or a folder of images")
    looks_like_path = data.startswith((".", "~", "/")) or "/" in data.split(":", 1)[-1]
    if looks_like_path and not Path(data.split(":", 1)[-1]).expanduser().exists():
        raise GanforgeError(f"data folder {data} does not exist on the studio's machine")
    if not kimg and not minutes:
        raise GanforgeError("give a budget: kimg, minutes or both (the first reached ends the run)")
    values: dict[str, Any] = {"model": model or None, "data": data, "resolution": int(resolution or 0),
                              "kimg": float(kimg) if kimg else None, "minutes": float(minutes) if minutes else None,
                              "batch": int(batch) if batch else None}
    if width:
        values["width"] = int(width)
    config = TrainConfig(str(task), out=str(ctx.runs_dir.resolve()), **values).validate()
    options = more_options(extra)
    form = [("--model", config.model), ("--data", data), ("--resolution", values["resolution"]),
            ("--batch", values["batch"]), ("--width", values.get("width"))]
    flags = [part for flag, value in form if value is not None for part in (flag, str(value))]
    return unique_run_dir(config), [*flags, *budget_options(kimg, minutes), *options]


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json ({} when it has none yet or it cannot be read)."""
    try:
        config = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def run_folder(ctx: StudioContext, value: str | None) -> Path:
    """A run of the studio's runs folder, by the picker's value (a path under it; nothing else is read)."""
    if not value:
        raise GanforgeError("no run selected: start one, or pick one of the runs folder")
    path = Path(value)
    path = path if path.is_absolute() else ctx.runs_dir / path
    # By name within the folder (a run linked into it counts, as its list shows it); `..` and paths elsewhere do not.
    if path.name in ("", ".", "..") or path.parent.resolve() != ctx.runs_dir.resolve():
        raise GanforgeError(f"{value} is not a run of the studio's runs folder {ctx.runs_dir}")
    return ctx.runs_dir / path.name


def run_status(job: TrainingJob, run_dir: Path) -> str:
    """One line: what the run's process is doing, how far the run has got and its newest checkpoint."""
    launch = job.launch_of(run_dir)
    kimg, saved = latest_kimg(run_dir), latest_checkpoint_name(run_dir)
    if launch is None:
        state = "not running" + ("; Resume continues it" if saved else "")
    else:
        code = launch.process.poll()
        if code is None:
            state = "stopping: writing its checkpoint" if launch.stop_requested else (
                ("resumed, training" if launch.resumed else "training")
                + ("" if kimg is not None else " (preparing data and networks)"))
        elif code == 0:
            state = "finished"
        elif code == EXIT_INTERRUPTED or launch.stop_requested:
            state = "stopped" + ("; Resume continues it" if saved else "")
        else:
            state = f"failed (exit code {code}): {last_line(launch.log) or 'no message'}"
    where = f"{kimg:.3f} kimg" if kimg is not None else "no statistics yet"
    return f"**{run_dir.name}**: {state}. {where}; newest checkpoint: {saved or 'none yet'}."


def grid_image(run_dir: Path) -> Image.Image | None:
    path = latest_grid(run_dir)
    if path is None:
        return None
    with Image.open(path) as im:
        im.load()
        return im.copy()


def run_choices(ctx: StudioContext, also: Path | None = None) -> list[tuple[str, str]]:
    runs = list_runs(ctx.runs_dir)
    if also is not None and all(p.resolve() != also.resolve() for p in runs):
        runs.insert(0, also)  # a run whose folder the trainer has not written yet
    return [(p.name, str(p)) for p in runs]


def build_train_tab(ctx: StudioContext) -> None:
    """The form, Start / Stop / Resume, and the run's status, losses and samples, polled while it trains."""
    job: TrainingJob = ctx.jobs.setdefault("train", TrainingJob(ctx.workdir / "training"))
    form = task_form("image")
    with gr.Row():
        with gr.Column(scale=1):
            task = gr.Dropdown(task_names(), value="image", label="Task")
            model = gr.Dropdown(form["models"], value=form["model"], label="Model", allow_custom_value=True)
            data = gr.Dropdown(form["data_choices"], value=form["data"], label="Data", allow_custom_value=True,
                               info=form["data_help"])
            resolution = gr.Number(form["resolution"], precision=0, minimum=4, maximum=1024, label="Resolution (px)")
            with gr.Row():
                kimg = gr.Number(10, minimum=0, label="kimg (the run's total; 0 = none)")
                minutes = gr.Number(5, minimum=0, label="Minutes (0 = none)")
            with gr.Row():
                batch = gr.Number(0, precision=0, minimum=0, label="Batch (0 = the task's)")
                width = gr.Number(0, precision=0, minimum=0, label="Width (0 = the model's)")
            extra = gr.Textbox("", label="Further train options", info="as after `ganforge train TASK`, e.g. "
                               "--seed 3 --augment diffaug")
            with gr.Row():
                start = gr.Button("Start", variant="primary")
                stop = gr.Button("Stop", variant="stop")
                resume = gr.Button("Resume")
        with gr.Column(scale=2):
            with gr.Row():
                runs = run_choices(ctx)
                run = gr.Dropdown(runs, value=None, label="Run", allow_custom_value=True, scale=5,
                                  info="the studio's runs folder; Resume continues the one shown")
                refresh = gr.Button("Refresh list", scale=1, size="sm")
            status = gr.Markdown()
            # report.html's SVG chart: Gradio's LinePlot, empty at first, drew no lines after an update (6.31)
            plot = gr.HTML(loss_chart(None), elem_id="train-losses")
            grid = gr.Image(label="Newest samples", type="pil", format="png", interactive=False)
    timer = gr.Timer(POLL_S, active=False)

    def on_task(name: str | None) -> tuple[Any, Any, Any]:
        if name not in task_names():
            return gr.update(), gr.update(), gr.update()
        found = task_form(str(name))
        return (gr.update(choices=found["models"], value=found["model"]),
                gr.update(choices=found["data_choices"], value=found["data"], info=found["data_help"]),
                gr.update(value=found["resolution"]))

    @handler
    def start_training(task_name: str | None, model_name: str | None, data_name: str | None, size: float | None,
                       budget_kimg: float | None, budget_minutes: float | None, batch_size: float | None,
                       channels: float | None, further: str | None) -> tuple[Any, str, Any]:
        run_dir, options = new_run(ctx, task_name, model_name, data_name, size, budget_kimg, budget_minutes,
                                   batch_size, channels, further)
        job.start(str(task_name), run_dir, options)
        return (gr.update(choices=run_choices(ctx, run_dir), value=str(run_dir)),
                f"started **{run_dir.name}**: preparing data and networks", gr.Timer(active=True))

    @handler
    def stop_training() -> str:
        launch = job.stop()
        return f"stopping **{launch.run_dir.name}**: it writes a checkpoint, then ends"

    @handler
    def resume_training(value: str | None, budget_kimg: float | None, budget_minutes: float | None) -> tuple[str, Any]:
        run_dir = run_folder(ctx, value)
        job.check_idle()
        task_name = run_config(run_dir).get("task")
        if not task_name:
            raise GanforgeError(f"{run_dir.name} stopped before it wrote its config.json: start a new run")
        job.start(str(task_name), run_dir, budget_options(budget_kimg, budget_minutes), resume=True)
        return f"resuming **{run_dir.name}** from its newest checkpoint", gr.Timer(active=True)

    def run_budget(value: str | None) -> tuple[Any, Any]:
        """The picked run's own budget in the kimg and minutes fields, so that Resume leaves it as it was unless
        changed (the Start form's defaults would otherwise end a longer run at once)."""
        try:
            config = run_config(run_folder(ctx, value))
        except GanforgeError:
            config = {}
        if not config:  # none picked, or a run just started that has not written its config yet: fields as typed
            return gr.update(), gr.update()
        return gr.update(value=config.get("kimg") or 0), gr.update(value=config.get("minutes") or 0)

    @handler
    def poll(value: str | None) -> tuple[str, str, Image.Image | None, Any]:
        active = gr.Timer(active=job.running())
        if not value:
            return "no run selected: start one, or pick one", loss_chart(None), None, active
        run_dir = run_folder(ctx, value)
        return run_status(job, run_dir), loss_chart(run_dir), grid_image(run_dir), active

    def relist(current: str | None) -> Any:
        choices = run_choices(ctx)
        values = [v for _, v in choices]
        return gr.update(choices=choices, value=current if current in values else None)

    def on_load(current: str | None) -> tuple[Any, Any]:
        launch = job.current
        chosen = str(launch.run_dir) if launch is not None else current
        return gr.update(choices=run_choices(ctx, launch.run_dir if launch else None), value=chosen), \
            gr.Timer(active=job.running())

    fields = [task, model, data, resolution, kimg, minutes, batch, width, extra]
    task.change(on_task, task, [model, data, resolution], api_visibility="private")
    start.click(start_training, fields, [run, status, timer], api_name="train_start")
    stop.click(stop_training, None, status, api_name="train_stop")
    resume.click(resume_training, [run, kimg, minutes], [status, timer], api_name="train_resume")
    shown = [status, plot, grid, timer]
    timer.tick(poll, run, shown, api_name="train_poll", concurrency_limit=None, show_progress="hidden")
    run.change(poll, run, shown, api_visibility="private", concurrency_limit=None)
    run.change(run_budget, run, [kimg, minutes], api_visibility="private", concurrency_limit=None)
    refresh.click(relist, run, run, api_visibility="private")
    if ctx.app is not None:
        ctx.app.load(on_load, run, [run, timer], api_visibility="private")


TABS = [StudioTab("Train", (), build_train_tab, order=910)]
