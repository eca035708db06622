"""The evaluation harness: a toy pipeline and its evaluator, registered here, run through `ganforge eval` and
`ganforge sample` with no edit of the CLI (dispatch is by the pipeline's registered name)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ganforge.cli.main import main
from ganforge.metrics.harness import EVALUATORS, EvalOptions, Evaluator, evaluator_for
from ganforge.pipelines.base import PIPELINES, Pipeline


class ToyPipeline(Pipeline):
    """No networks: it "predicts" a constant, enough for an evaluator to score."""


class ToyEvaluator(Evaluator):
    runs = "toy runs"
    options = ("split",)
    min_n = 3
    min_n_reason = "the toy needs three"
    stage = "scoring the toy"
    columns = ("model", "half", "truth")

    def evaluate(self, pipe: Any, opts: EvalOptions, progress=None) -> dict[str, Any]:
        n = opts.n or 5
        return {"task": "toy", "split": opts.split or "test", "n": n, "model": {"score": 1.0 / n, "hits": n},
                "half": {"score": 0.5 / n, "hits": None}, "truth": {"score": 0.0}}

    def headline(self, result: dict[str, Any]) -> str:
        return f"toy on the {result['split']} split: n = {result['n']}"


@pytest.fixture
def toy_run(tmp_path, monkeypatch):
    monkeypatch.setitem(PIPELINES._items, "toy", ToyPipeline)
    monkeypatch.setitem(EVALUATORS._items, "toy", ToyEvaluator)
    return ToyPipeline({}, {"pipeline": "toy", "components": {}}).save_pretrained(tmp_path / "toy")


def test_a_registered_evaluator_runs_through_ganforge_eval(toy_run, capsys):
    assert main(["eval", str(toy_run), "--eval-n", "4", "--split", "train", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"task": "toy", "split": "train", "n": 4,
                                                   "model": {"score": 0.25, "hits": 4},
                                                   "half": {"score": 0.125, "hits": None}, "truth": {"score": 0.0}}
    assert main(["eval", str(toy_run)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "toy on the test split: n = 5",
        f"{'metric':<16}{'model':>12}{'half':>12}{'truth':>12}",
        f"{'score':<16}{'0.2000':>12}{'0.1000':>12}{'0.0000':>12}",
        f"{'hits':<16}{'5':>12}{'-':>12}{'-':>12}",
    ]


@pytest.mark.parametrize(("args", "message"), [
    (["--eval-n", "2"], "--eval-n must be at least 3 (the toy needs three), got 2"),
    (["--direction", "AtoB"], "--direction applies to translation runs (pix2pix, cyclegan) only"),
    (["--predict-frames", "2"], "--predict-frames applies to nextframe runs only"),
])
def test_the_harness_checks_options_for_the_evaluator(toy_run, capsys, args, message):
    assert main(["eval", str(toy_run), *args]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"


def test_unregistered_pipelines_are_one_line_errors(toy_run, capsys, monkeypatch):
    monkeypatch.delitem(EVALUATORS._items, "toy")
    assert main(["eval", str(toy_run)]) == 2
    assert capsys.readouterr().err.strip() == "error: no evaluation is registered for toy models"
    assert main(["sample", str(toy_run), "--out", str(toy_run / "x.png")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {toy_run} is not an image generator"


def test_every_builtin_pipeline_has_an_evaluator():
    class Named:
        def __init__(self, name: str) -> None:
            self.config = {"pipeline": name}

    for name in ("image", "translation", "inpaint", "superres", "nextframe", "video"):
        assert isinstance(evaluator_for(Named(name)), Evaluator)
