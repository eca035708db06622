"""The precision policy as a run sees it: auto's one-step check and its fallback, the forcing variable, what
config.json and report.html record, and steps with non-finite gradients skipped, counted and bounded."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from safetensors.torch import load_file

import ganforge
import ganforge.engine.trainer as trainer_module
from ganforge.engine import precision
from ganforge.engine.checkpoint import list_checkpoints
from ganforge.errors import ConfigError, TrainingError


def _weights(run) -> dict[str, torch.Tensor]:
    return load_file(str(run.checkpoint / "G.safetensors"))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def native_bf16(monkeypatch):
    """A CPU whose flags say bf16 is native, whatever this one's say; no forcing from the environment."""
    monkeypatch.delenv(precision.PRECISION_ENV, raising=False)
    monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda: True)


def test_auto_checks_bf16_once_and_then_trains_exactly_as_forced_bf16(tmp_path, tiny, native_bf16):
    auto = ganforge.train(**tiny, kimg=0.5, out=str(tmp_path), name="auto")
    forced = ganforge.train(**tiny, kimg=0.5, precision="bf16", out=str(tmp_path), name="bf16")
    used = json.loads((tmp_path / "auto" / "config.json").read_text())["precision_used"]
    assert used["autocast"] == "bf16" and used["reason"].startswith("auto: bf16, its gradients agreed with fp32")
    assert used["networks"] == {"G": "bf16", "D": "bf16", "G_ema": "bf16"}
    assert _same(_weights(auto), _weights(forced))  # the check ran a step and put everything back
    assert "precision <b>bf16</b>" in (tmp_path / "auto" / "report.html").read_text()
    state = json.loads((auto.checkpoint / "state.json").read_text())
    assert state["precision_policy"]["autocast"] == "bf16"


def test_auto_falls_back_to_fp32_when_bf16_gradients_disagree(tmp_path, tiny, native_bf16, monkeypatch, caplog):
    monkeypatch.setattr(trainer_module, "PROBE_TOLERANCE", 0.0)  # any rounding now counts as a disagreement
    with caplog.at_level(logging.WARNING, logger="ganforge"):
        auto = ganforge.train(**tiny, kimg=0.5, out=str(tmp_path), name="auto")
    fp32 = ganforge.train(**tiny, kimg=0.5, precision="fp32", out=str(tmp_path), name="fp32")
    assert [r.message for r in caplog.records if "bf16 gradients" in r.message][0].endswith("training in fp32")
    used = json.loads((tmp_path / "auto" / "config.json").read_text())["precision_used"]
    assert used["autocast"] == "fp32" and "differed from fp32" in used["reason"]
    assert _same(_weights(auto), _weights(fp32))


def test_resume_keeps_the_runs_verdict_without_checking_again(tmp_path, tiny, native_bf16, monkeypatch):
    monkeypatch.setattr(trainer_module, "PROBE_TOLERANCE", 0.0)
    ganforge.train(**tiny, kimg=0.5, out=str(tmp_path), name="r")  # falls back to fp32

    def no_check(*args, **kwargs):
        raise AssertionError("a resumed run must not check again")

    monkeypatch.setattr(trainer_module, "compare_step_gradients", no_check)
    resumed = ganforge.train(resume=str(tmp_path / "r"), kimg=1.0)
    assert resumed.task.runtime.precision == "fp32"
    used = json.loads((tmp_path / "r" / "config.json").read_text())["precision_used"]
    assert used["autocast"] == "fp32" and "differed" in used["reason"]


def test_environment_forces_auto_without_a_check(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setenv(precision.PRECISION_ENV, "bf16")
    monkeypatch.setattr(trainer_module, "compare_step_gradients", lambda *a, **k: pytest.fail("forced: no check"))
    run = ganforge.train(**tiny, kimg=0.1, out=str(tmp_path), name="forced")
    used = json.loads((tmp_path / "forced" / "config.json").read_text())["precision_used"]
    assert run.task.runtime.precision == "bf16" and "GANFORGE_PRECISION" in used["reason"]
    explicit = ganforge.train(**tiny, kimg=0.1, precision="fp32", out=str(tmp_path), name="explicit")
    assert explicit.task.runtime.precision == "fp32"  # an explicit --precision is not overridden
    monkeypatch.setenv(precision.PRECISION_ENV, "fp8")
    with pytest.raises(ConfigError, match="GANFORGE_PRECISION='fp8' is not a precision"):
        ganforge.train(**tiny, kimg=0.1, out=str(tmp_path), name="bad")


def test_a_step_with_non_finite_gradients_is_skipped_and_counted(tmp_path, tiny, poison_d_loss):
    poison_d_loss(lambda n: n in (5, 9, 10))
    result = ganforge.train(**tiny, kimg=0.512, precision="fp32", out=str(tmp_path), name="skip")  # 16 steps
    assert result.status == "finished" and result.steps == 16
    rows = [json.loads(line) for line in (tmp_path / "skip" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["skipped_steps"] == 3 and all(v == v for r in rows for k, v in r.items() if k.startswith("Loss/"))
    assert sum(r.get("Train/skipped", 0) > 0 for r in rows) >= 1
    weights = load_file(str(result.checkpoint / "D.safetensors"))
    assert all(torch.isfinite(v).all() for v in weights.values())
    state = json.loads((result.checkpoint / "state.json").read_text())
    assert state["skipped_steps"] == 3


def test_non_finite_statistics_are_never_saved(tmp_path, tiny, monkeypatch):
    """Buffers (here D's spectral-norm vectors) poisoned right after the first checkpoint stop the run before any
    later checkpoint holds them."""
    original_save = trainer_module.Trainer.save_checkpoint

    def save_then_poison(self):
        path = original_save(self)
        with torch.no_grad():
            for buf in self.task.networks["D"].buffers():
                if buf.is_floating_point():
                    buf.fill_(float("nan"))
        return path

    monkeypatch.setattr(trainer_module.Trainer, "save_checkpoint", save_then_poison)
    with pytest.raises(TrainingError, match="non-finite"):
        ganforge.train(**tiny, kimg=3, out=str(tmp_path), name="bn")
    assert [p.name for p in list_checkpoints(tmp_path / "bn" / "checkpoints")] == ["kimg-00001.024"]
