"""The studio's Evaluate tab: `ganforge eval RUN` in the browser. The task's own registered evaluator scores the
model (metrics/harness.py), its table shows the model next to the task's baselines, and the result is kept with the
run (eval_records.py) so that opening the run again shows it without computing it again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from ganforge.errors import GanforgeError
from ganforge.studio.context import StudioContext
from ganforge.studio.eval_records import Recorded, is_run_dir, latest_record, save_record
from ganforge.studio.tabs import StudioTab
from ganforge.studio.ui import MODEL_QUEUE, handler, model_picker

DEFAULT_N = 200  # seconds, not minutes, of Inception features on a CPU; FID at such n is biased (compare at equal n)
FLAGS = {"--eval-n": "n", "--n": "n", "--data": "the Data field"}  # how the evaluators' messages read here


def evaluable_pipelines() -> tuple[str, ...]:
    """The pipelines with a registered evaluator: the models this tab lists."""
    from ganforge.metrics.harness import EVALUATORS, register_builtin

    register_builtin()
    return tuple(EVALUATORS.names())


def result_table(evaluator: Any, result: dict[str, Any]) -> pd.DataFrame:
    """The result as `ganforge eval` prints it: a row per metric, a column per score dict (the model, then the
    task's baselines and the truth's own figures), a bucket column where scores come in buckets; a result without
    score dicts (an image generator's) as metric and value."""

    blocks = evaluator.blocks(result)
    if not any(scores.get("model") for _, scores in blocks):
        return flat_table(result)
    bucketed = blocks[0][0] is not None
    columns = [c.replace("_", " ") for c in evaluator.columns]
    rows = [([name] if bucketed else []) + [key, *cells] for name, key, cells in evaluator.rows(result)]
    return pd.DataFrame(rows, columns=(["bucket"] if bucketed else []) + ["metric", *columns])


def flat_table(result: dict[str, Any]) -> pd.DataFrame:
    """Figures without score dicts (an image generator's, a trainer's log): metric and value."""
    from ganforge.metrics.harness import shown

    rows = [[key, shown(value)] for key, value in result.items() if not isinstance(value, (dict, list))]
    return pd.DataFrame(rows, columns=["metric", "value"])


def result_text(evaluator: Any, result: dict[str, Any]) -> str:
    """The evaluator's headline and the lines it prints under its table (per-step figures, ratios)."""
    from ganforge.metrics.harness import Evaluator

    lines = [evaluator.headline(result)] if type(evaluator).headline is not Evaluator.headline else []
    lines += evaluator.extra_lines(result)
    return "\n".join(lines)


def check_n(n: float | None, limit: int) -> int:
    if n is None or int(n) != n or not 1 <= int(n) <= limit:
        raise GanforgeError(f"n must be a whole number of samples in 1..{limit}, got {n}")
    return int(n)


def shown_record(recorded: Recorded | None, what: str) -> tuple[pd.DataFrame | None, str]:
    from ganforge.metrics.harness import EVALUATORS, register_builtin

    if recorded is None:
        return None, f"no evaluation of {what} is recorded yet: press Evaluate"
    register_builtin()
    evaluator = EVALUATORS.get(recorded.pipeline)()
    try:
        text = result_text(evaluator, recorded.result)
        table = result_table(evaluator, recorded.result)
    except (KeyError, TypeError, ValueError, IndexError):  # flat figures (a trainer's log, a card): as they are
        text, table = "", flat_table(recorded.result)
    return table, f"{recorded.source}" + (f"\n\n```\n{text}\n```" if text else "")


def build_evaluate_tab(ctx: StudioContext) -> None:
    """A model, n and optional data -> the evaluation's table, with any recorded one shown when a model is picked."""
    from ganforge.cli.options import as_typed
    from ganforge.devices import resolve_device
    from ganforge.metrics.harness import EvalOptions, check_options, evaluator_for

    pipelines = evaluable_pipelines()
    with gr.Row():
        with gr.Column(scale=1):
            picker = model_picker(ctx, pipelines)
            n = gr.Number(min(DEFAULT_N, ctx.limits.max_eval_n), precision=0, minimum=1, maximum=ctx.limits.max_eval_n,
                          label="n (samples)", info="images or clips scored per side; FID is comparable only at "
                                                   "equal n")
            data = gr.Textbox("", label="Data", info="real data to score against; empty: the run's own (an export "
                              "without its run needs it)")
            button = gr.Button("Evaluate", variant="primary")
            show = gr.Button("Show recorded", size="sm")
        with gr.Column(scale=2):
            table = gr.Dataframe(label="Metrics (the model next to the task's baselines)", interactive=False,
                                 wrap=True)
            status = gr.Markdown()

    @handler
    def evaluate(value: str | None, count: float | None, real: str | None,
                 progress: gr.Progress = gr.Progress()) -> tuple[pd.DataFrame, str]:
        pipe = ctx.pipeline(value, pipelines, "Evaluate")
        opts = EvalOptions(run=Path(str(value)), data=(real or "").strip() or None,
                           n=check_n(count, ctx.limits.max_eval_n), device=resolve_device(ctx.device))
        start = time.perf_counter()
        with as_typed(FLAGS):
            evaluator = evaluator_for(pipe)
            check_options(evaluator, opts)
            stage = evaluator.stage_for(opts)
            result = evaluator.evaluate(pipe, opts, progress=lambda done, total: progress((done, total), desc=stage))
        took = f"evaluated in {time.perf_counter() - start:.1f} s"
        if is_run_dir(str(value)):
            try:
                path = save_record(Path(str(value)), str(pipe.config["pipeline"]), opts.data, opts.n, result)
                took += f"; recorded in {path.parent.name}/{path.name} of the run"
            except OSError as exc:  # a run we may not write into: the result is still shown
                took += f"; not recorded with the run ({exc.__class__.__name__}: {exc.strerror or exc})"
        text = result_text(evaluator, result)
        return result_table(evaluator, result), took + (f"\n\n```\n{text}\n```" if text else "")

    @handler
    def recorded(value: str | None) -> tuple[pd.DataFrame | None, str]:
        if not value:
            return None, ""
        entry = next((e for e in ctx.models(pipelines) if e.value == str(value)), None)
        if entry is None:
            ctx.pipeline(value, pipelines, "Evaluate")  # not a listed model of this kind: its one-line error
            raise GanforgeError(f"{value} is not one of the studio's models; refresh the list")
        return shown_record(latest_record(entry.value, entry.pipeline), entry.label)

    button.click(evaluate, [picker, n, data], [table, status], api_name="evaluate", concurrency_id=MODEL_QUEUE)
    show.click(recorded, picker, [table, status], api_name="recorded_evaluation")
    picker.change(recorded, picker, [table, status], api_visibility="private")
    if ctx.app is not None:
        ctx.app.load(recorded, picker, [table, status], api_visibility="private")


TABS = [StudioTab("Evaluate", evaluable_pipelines(), build_evaluate_tab, order=900)]
