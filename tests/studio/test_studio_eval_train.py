"""The studio's Evaluate and Train tabs through their API (gradio_client against the app served in-process on
127.0.0.1): the evaluation is `ganforge eval`'s (the task's registered evaluator, its baselines as columns) and is kept
with the run; a training is `ganforge train` in a child process that Stop checkpoints, Resume continues and closing
the studio ends. Bad input gets a sentence. The Inception extractor is a stub (tests/metric_stubs.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import TINY
from tests.metric_stubs import PoolFeatures
from tests.studio.studio_helpers import free_port, read, refused, require_gradio
from tests.superres_helpers import TINY_SR, write_sr_folder

gr = require_gradio()
from gradio_client import Client  # noqa: E402

import ganforge  # noqa: E402
from ganforge.engine.checkpoint import list_checkpoints  # noqa: E402
from ganforge.engine.stats import read_metrics  # noqa: E402
from ganforge.metrics.harness import EvalOptions  # noqa: E402
from ganforge.studio.app import build_app, launch  # noqa: E402
from ganforge.studio.context import StudioContext  # noqa: E402
from ganforge.studio.eval_records import latest_record  # noqa: E402
from ganforge.studio.limits import Limits  # noqa: E402
from ganforge.tasks.image.evaluate import GeneratorEvaluator  # noqa: E402

MAX_EVAL_N = 3000  # above digits' 1,797 images: the evaluator's own check speaks
# The Train tab's run: TINY's networks at 16 px, a statistics line every step, fp32 (no bf16 probe), and budgets far
# beyond what the test waits for (Stop ends it; the minute is a guard).
TRAIN_FORM = ("image", "dcgan", "digits", 16, 1000, 1, 32, 8,
              "--z-dim 16 --tick 0.032 --sample-every 0.32 --checkpoint-every 100 --grid-size 16 --precision fp32")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The studio on a runs folder of its own (the Evaluate tab records into its runs, the Train tab adds runs): a
    tiny DCGAN and a tiny superres run; Inception replaced by a stub while the module runs."""
    root = tmp_path_factory.mktemp("studio-eval-train")
    runs = root / "runs"
    ganforge.train(**TINY, kimg=0.032, out=str(runs), name="dcgan", precision="fp32")
    ganforge.train(**TINY_SR, data=str(write_sr_folder(root / "sr-images")), kimg=0.008, out=str(runs), name="sr",
                   precision="fp32")
    with pytest.MonkeyPatch.context() as patch:
        for module in ("ganforge.metrics.compute", "ganforge.tasks.superres.evaluate"):
            patch.setattr(f"{module}.get_extractor", lambda *a, **k: PoolFeatures())
        ctx = StudioContext(runs_dir=runs, models_dir=root / "models", limits=Limits(max_eval_n=MAX_EVAL_N))
        app = build_app(ctx)
        url = launch(app, ctx, port=free_port(), quiet=True)
        yield {"client": Client(url, verbose=False), "ctx": ctx, "runs": runs,
               "paths": {"dcgan": str(runs / "dcgan"), "sr": str(runs / "sr")}}
        app.close()
        ctx.close()


def test_evaluate_and_train_come_after_the_tasks_tabs(studio):
    from ganforge.studio.tabs import own_tabs, studio_tabs

    assert [t.title for t in own_tabs()] == ["Evaluate", "Train"]
    assert min(t.order for t in own_tabs()) > max(t.order for t in studio_tabs())
    evaluate = own_tabs()[0]
    assert {"image", "translation", "inpaint", "superres", "nextframe", "video"} <= set(evaluate.pipelines)


# ---------------------------------------------------------------------------------------------------- evaluate
def table(value: dict[str, Any]) -> dict[str, list[str]]:
    """A gr.Dataframe through the API as {metric: row of the other columns}."""
    at = value["headers"].index("metric")
    return {row[at]: row[at + 1 :] for row in value["data"]}


def test_evaluate_an_image_run_is_ganforge_evals_result_and_is_recorded(studio):
    path = studio["paths"]["dcgan"]
    shown, status = studio["client"].predict(path, 8, "", api_name="/evaluate")
    assert shown["headers"] == ["metric", "value"]
    rows = table(shown)
    assert {"fid8", "kid8", "kid8_std", "precision8", "recall8", "n_real", "n_fake"} <= set(rows)
    expected = GeneratorEvaluator().evaluate(ganforge.load(path), EvalOptions(n=8))
    assert rows["fid8"] == [f"{expected['fid8']:.4f}"] and rows["n_fake"] == ["8"]
    assert "recorded in evaluations/own-data-n8.json of the run" in status
    record = json.loads((Path(path) / "evaluations" / "own-data-n8.json").read_text())
    assert record["pipeline"] == "image" and record["n"] == 8 and record["result"]["fid8"] == pytest.approx(expected["fid8"])
    again, source = studio["client"].predict(path, api_name="/recorded_evaluation")  # read back, not computed
    assert again == shown and source.startswith("recorded by the studio on")


def test_evaluate_superres_sits_next_to_bicubic(studio):
    shown, status = studio["client"].predict(studio["paths"]["sr"], 4, "", api_name="/evaluate")
    assert shown["headers"] == ["metric", "model", "bicubic", "truth"]
    rows = table(shown)
    assert {"psnr_y", "ssim_y"} <= set(rows) and all(cell != "-" for cell in rows["psnr_y"][:2])
    assert "superres x2" in status and "on the test split of" in status


def test_recorded_evaluations_from_the_trainer_log_and_a_shipped_card(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lines = [{"kimg": 1.0, "Loss/G/adv": 0.7}, {"kimg": 2.0, "Metrics/fid50": 31.5, "Metrics/kid50": 0.01},
             {"kimg": 3.0, "Loss/G/adv": 0.6}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    found = latest_record(str(run), "image")
    assert found.result == {"fid50": 31.5, "kid50": 0.01} and "at 2.0 kimg (--eval-every)" in found.source
    assert latest_record(str(tmp_path / "nothing"), "image") is None
    card = latest_record("zoo:mnist-32", "image")
    assert card is not None and "fid" in card.result and "when it was shipped" in card.source


@pytest.mark.parametrize(("model", "n", "data", "said"), [
    (None, 8, "", "pick a model for the Evaluate tab first"),
    ("/no/such/run", 8, "", "is not one of the studio's models"),
    ("dcgan", 0, "", "less than minimum value 1"),
    ("dcgan", MAX_EVAL_N + 1, "", f"greater than maximum value {MAX_EVAL_N}"),
    ("dcgan", 2, "", "n must be at least 4 (precision/recall uses k = 3 neighbours), got 2"),
    ("dcgan", 2500, "", "n 2500 is more than the 1797 real images of digits"),
    ("dcgan", 8, "/no/such/folder", "/no/such/folder"),
])
def test_evaluate_refuses_bad_input(studio, model, n, data, said):
    value = studio["paths"].get(model, model)
    message = refused(studio, value, n, data, api_name="/evaluate")
    assert said in message and "--eval-n" not in message, message


# ---------------------------------------------------------------------------------------------------- train
def poll_until(studio, run: str, done, timeout: float = 90) -> tuple:
    """Poll the run as the page's timer does until `done(result)`; the last result."""
    end = time.monotonic() + timeout
    while True:
        result = studio["client"].predict(run, api_name="/train_poll")
        if done(result):
            return result
        assert time.monotonic() < end, f"timed out: {result[0]}"
        time.sleep(0.3)


def kimgs(run: Path) -> list[float]:
    return [row["kimg"] for row in read_metrics(run / "metrics.jsonl") if "Loss/G/adv" in row]


def test_train_start_watch_stop_resume_and_close(studio):
    client, ctx = studio["client"], studio["ctx"]
    picked, status, timer = client.predict(*TRAIN_FORM, api_name="/train_start")
    run = Path(picked["value"])
    assert run.parent == studio["runs"] and not list_checkpoints(run / "checkpoints")
    assert run.name == "image-dcgan-digits-16" and timer["active"] is True and "started" in status
    said = refused(studio, *TRAIN_FORM, api_name="/train_start")  # one training at a time
    assert "a training is already running (run image-dcgan-digits-16" in said
    assert "a training is already running" in refused(studio, str(run), 0, 0, api_name="/train_resume")

    status, plot, grid, _ = poll_until(studio, str(run), lambda r: "<polyline" in r[1] and r[2] and "training" in r[0])
    assert plot.startswith("<svg") and "Loss/D/adv" in plot and "Loss/G/adv" in plot  # report.html's chart
    assert read(grid).shape[:2] == (2 + 4 * 18, 2 + 4 * 18)  # 16 digits of 16 px, 2 px padding

    assert "stopping" in client.predict(api_name="/train_stop")
    status, _, _, timer = poll_until(studio, str(run), lambda r: r[3]["active"] is False)
    job = ctx.jobs["train"]
    assert job.current.process.returncode == 130 and "stopped; Resume continues it" in status
    first = list_checkpoints(run / "checkpoints")[-1]
    stopped_at = json.loads((first / "state.json").read_text())["kimg"]
    assert 0 < stopped_at < 1000 and f"newest checkpoint: {first.name}" in status
    assert str(run) in {e.value for e in ctx.models(("image",))}  # the other tabs list it
    assert "no training is running" in refused(studio, api_name="/train_stop")

    status, timer = client.predict(str(run), 0, 1, api_name="/train_resume")  # its own kimg budget, a fresh minute
    assert "resuming" in status and timer["active"] is True
    poll_until(studio, str(run), lambda r: max(kimgs(run), default=0) > stopped_at + 0.1)
    logged = kimgs(run)
    assert logged == sorted(set(logged)) and logged[0] == pytest.approx(0.032)  # one log, continued, not restarted
    ctx.jobs["train"].close()  # what closing the studio does: SIGTERM, and a wait for the checkpoint
    assert job.current.process.returncode == 130
    last = list_checkpoints(run / "checkpoints")[-1]
    assert json.loads((last / "state.json").read_text())["kimg"] > stopped_at + 0.1


def test_a_run_that_fails_says_why_on_the_page(studio):
    form = [*TRAIN_FORM[:-1], "--bogus 3"]  # an option no task has: `ganforge train` refuses it, in its own words
    _, status, _ = studio["client"].predict(*form, api_name="/train_start")
    assert "started" in status
    run = studio["ctx"].jobs["train"].current.run_dir
    status, plot, grid, _ = poll_until(studio, str(run), lambda r: r[3]["active"] is False)
    assert "failed (exit code 2): Error: No such option: --bogus" in status and plot == "" and grid is None


@pytest.mark.parametrize(("change", "said"), [
    ({1: "stylegan9"}, "unknown model 'stylegan9'"),
    ({2: "/no/such/images"}, "data folder /no/such/images does not exist"),
    ({4: 0, 5: 0}, "give a budget: kimg, minutes or both"),
    ({1: "unet"}, "--model unet belongs to task pix2pix"),
    ({3: 2}, "less than minimum value 4"),
    ({8: "--runs-dir /tmp/elsewhere"}, "--runs-dir is set by the studio"),
    ({8: "--kimg 5"}, "set --kimg in its own field"),
    ({8: "--seed 'open"}, "cannot read the further options"),
])
def test_train_refuses_bad_input_before_starting(studio, change, said):
    form = [change.get(i, value) for i, value in enumerate(TRAIN_FORM)]
    assert said in refused(studio, *form, api_name="/train_start")
    assert not studio["ctx"].jobs["train"].running()


def test_resume_and_poll_take_only_runs_of_the_runs_folder(studio, tmp_path):
    outside = str(tmp_path / "elsewhere")
    assert "is not a run of the studio's runs folder" in refused(studio, outside, 0, 0, api_name="/train_resume")
    assert "is not a run of the studio's runs folder" in refused(studio, outside, api_name="/train_poll")
    assert "no run selected" in refused(studio, None, 0, 0, api_name="/train_resume")
    escaping = str(studio["runs"] / ".." / "elsewhere")
    assert "is not a run of the studio's runs folder" in refused(studio, escaping, api_name="/train_poll")


def test_a_run_linked_into_the_runs_folder_is_one_of_its_runs(studio, tmp_path):
    """The Run list shows a run linked into the runs folder (as the browser test links its runs); picking it works."""
    from ganforge.studio.train_tab import run_config, run_folder

    real = tmp_path / "trained-elsewhere"
    real.mkdir()
    (real / "config.json").write_text(json.dumps({"task": "image", "kimg": 50.0, "minutes": None}))
    link = studio["runs"] / "linked-run"
    link.symlink_to(real, target_is_directory=True)
    try:
        assert run_folder(studio["ctx"], str(link)) == link == run_folder(studio["ctx"], "linked-run")
        assert run_config(link)["kimg"] == 50.0  # what the kimg field shows when it is picked: Resume keeps it
        status, *_ = studio["client"].predict(str(link), api_name="/train_poll")
        assert "**linked-run**: not running" in status
    finally:
        link.unlink()


def test_a_training_the_studio_started_stops_when_the_studio_dies(monkeypatch):
    """The studio names itself in GANFORGE_STOP_WITH_PARENT: its child's trainer stops once that process has gone (a
    killed studio leaves no training running), and only then."""
    import os

    from ganforge.cli.train import STOP_WITH_PARENT, parent_gone

    monkeypatch.delenv(STOP_WITH_PARENT, raising=False)
    assert parent_gone() is None  # a training started by hand
    monkeypatch.setenv(STOP_WITH_PARENT, str(os.getppid()))
    assert parent_gone()() is False  # the parent it names is still its parent
    monkeypatch.setenv(STOP_WITH_PARENT, str(os.getppid() + 1_000_000))
    assert parent_gone()() is True  # re-parented: the studio is gone


@pytest.mark.parametrize("pipeline", ["image", "superres", "translation", "inpaint", "nextframe", "video"])
def test_flat_recorded_figures_show_as_a_table_for_every_task(pipeline):
    """A trainer's --eval-every figures or a card's are flat (no score dicts): each task's tab shows them as metric
    and value, instead of its evaluator's table failing on keys they lack."""
    from ganforge.studio.eval_records import Recorded
    from ganforge.studio.evaluate_tab import shown_record

    table, status = shown_record(Recorded(pipeline, {"fid8": 12.5, "psnr": 20.1}, "logged by the trainer"), "a run")
    assert list(table.columns) == ["metric", "value"] and table["metric"].tolist() == ["fid8", "psnr"]
    assert status.startswith("logged by the trainer")
