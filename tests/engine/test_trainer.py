"""The one trainer: run directory contents, losses moving, exact resume, budgets, non-finite stops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import ganforge
from ganforge.engine.checkpoint import list_checkpoints
from ganforge.errors import ConfigError, GanforgeError, TrainingError


def _weights(ckpt: Path, name: str = "G") -> dict[str, torch.Tensor]:
    return load_file(str(ckpt / f"{name}.safetensors"))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_tiny_run_writes_run_directory_and_losses_move(tmp_path, tiny):
    result = ganforge.train(**tiny, kimg=4, cond=True, out=str(tmp_path), name="run")
    run = tmp_path / "run"
    assert result.status == "finished" and result.kimg >= 4
    for name in ("config.json", "model.json", "metrics.jsonl", "report.html", "samples/reals.png"):
        assert (run / name).is_file(), name
    assert len(list((run / "samples").glob("fakes-*.png"))) >= 4  # kimg 0, 1, 2, 3, 4
    assert [p.name for p in list_checkpoints(run / "checkpoints")][-1] == "kimg-00004.000"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) >= 7 and all("Loss/D/adv" in r and "Loss/G/adv" in r for r in rows)
    first, last = rows[0], rows[-1]
    assert abs(first["Loss/D/adv"] - last["Loss/D/adv"]) > 0.05  # the losses move
    assert last["D/real"] > last["D/fake"]  # D separates real from fake
    report = (run / "report.html").read_text()
    assert "<svg" in report and "samples/fakes-" in report and "&quot;cond&quot;: true" in report
    saved = json.loads((run / "config.json").read_text())
    assert saved["kimg"] == 4 and saved["cond"] is True


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, tiny):
    settings = dict(tiny, r1_gamma=0.5, r1_interval=4, cond=True)
    full = ganforge.train(**settings, kimg=4, out=str(tmp_path), name="full")
    ganforge.train(**settings, kimg=2, out=str(tmp_path), name="split")
    resumed = ganforge.train(resume=tmp_path / "split", kimg=4)
    assert resumed.kimg == full.kimg and resumed.steps == full.steps
    for net in ("G", "D", "G_ema"):
        assert _same(_weights(full.checkpoint, net), _weights(resumed.checkpoint, net)), net
    # The metrics log of the resumed run has each tick once.
    kimgs = [json.loads(line)["kimg"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert kimgs == sorted(set(kimgs))


def test_resume_refuses_to_change_the_model(tmp_path, tiny):
    ganforge.train(**tiny, kimg=0.5, out=str(tmp_path), name="r")
    with pytest.raises(ConfigError, match="cannot change width when resuming"):
        ganforge.train(resume=tmp_path / "r", kimg=1, width=32)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, tiny):
    a = ganforge.train(**tiny, kimg=1, out=str(tmp_path), name="a", seed=3)
    b = ganforge.train(**tiny, kimg=1, out=str(tmp_path), name="b", seed=3)
    c = ganforge.train(**tiny, kimg=1, out=str(tmp_path), name="c", seed=4)
    assert _same(_weights(a.checkpoint), _weights(b.checkpoint))
    assert not _same(_weights(a.checkpoint), _weights(c.checkpoint))


def test_minutes_budget_and_should_stop(tmp_path, tiny):
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    result = ganforge.train(**tiny, kimg=1000, out=str(tmp_path), name="s", should_stop=stop)
    assert result.status == "stopped" and result.steps == 5 and result.checkpoint is not None
    timed = ganforge.train(**tiny, kimg=None, minutes=0.02, out=str(tmp_path), name="t")
    assert timed.status == "finished" and timed.wall_sec < 10


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, tiny, poison_d_loss):
    poison_d_loss(lambda n: n > 40)  # step 40 is past the 1 kimg checkpoint
    # Steps 40.. have NaN gradients in D: each is skipped, and the 8th in a row stops the run.
    with pytest.raises(TrainingError, match=r"non-finite gradients \(D\) in 8 steps in a row, up to step 47 .*"
                                            r"last good checkpoint"):
        ganforge.train(**tiny, kimg=3, precision="fp32", out=str(tmp_path), name="nan")  # no check step to count
    ckpts = list_checkpoints(tmp_path / "nan" / "checkpoints")
    assert [p.name for p in ckpts] == ["kimg-00001.024"]
    assert all(torch.isfinite(v).all() for v in _weights(ckpts[0]).values())


def test_checkpoints_are_pruned_to_keep(tmp_path, tiny):
    ganforge.train(**tiny, kimg=4, out=str(tmp_path), name="k", keep_checkpoints=2)
    assert [p.name for p in list_checkpoints(tmp_path / "k" / "checkpoints")] == ["kimg-00003.008", "kimg-00004.000"]


@pytest.mark.parametrize("loss", ["hinge", "lsgan", "wgan-gp"])
def test_other_losses_train(tmp_path, tiny, loss):
    result = ganforge.train(**tiny, kimg=0.5, loss=loss, r1_gamma=1.0, r1_interval=2, out=str(tmp_path), name=loss)
    rows = [json.loads(line) for line in (tmp_path / loss / "metrics.jsonl").read_text().splitlines()]
    assert result.status == "finished" and "Loss/D/r1" in rows[-1]
    assert ("Loss/D/gp" in rows[-1]) == (loss == "wgan-gp")


def test_template_task_trains_and_samples(tmp_path, tiny):
    result = ganforge.train(**dict(tiny, task="template", model=None), kimg=0.5, out=str(tmp_path), name="tpl")
    pipe = ganforge.load(result.run_dir)
    assert pipe(n=3, output_type="np").shape == (3, 16, 16, 1)
    assert ganforge.load(result.run_dir, device="auto").device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(GanforgeError, match="is not a device"):
        ganforge.load(result.run_dir, device="tpu")


def test_precision_resolution_on_cpu(monkeypatch):
    monkeypatch.delenv("GANFORGE_PRECISION", raising=False)
    import ganforge.engine.trainer as trainer

    cpu = torch.device("cpu")
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: True)
    assert trainer.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: False)
    assert trainer.resolve_precision("auto", cpu) == "fp32"
    assert trainer.resolve_precision("fp32", cpu) == "fp32"
    assert trainer.resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(ConfigError, match="--precision fp16 needs a GPU"):
        trainer.resolve_precision("fp16", cpu)


def test_fp32_and_bf16_runs_both_train(tmp_path, tiny):
    for precision in ("fp32", "bf16"):
        result = ganforge.train(**tiny, kimg=0.5, precision=precision, out=str(tmp_path), name=precision)
        assert all(torch.isfinite(v).all() for v in _weights(result.checkpoint).values())
