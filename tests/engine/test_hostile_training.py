"""Training against hostile input and kills (issue 25): numbers out of range are one-line errors, a run killed
before its first checkpoint starts again in place, --resume keeps the run's task, kills leave no lasting debris,
and the first metrics line after a resume equals the uninterrupted run's."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tests.conftest import TINY
from tests.kill_helpers import kill_during_save

import ganforge
from ganforge.cli.main import main
from ganforge.config import SEED_MAX, TrainConfig
from ganforge.engine.checkpoint import list_checkpoints
from ganforge.engine.rundir import RunLock, remove_stale_leftovers
from ganforge.errors import ConfigError

# 16 steps of 32 images: one tick at 0.512 kimg, checkpoints at 0.256 (mid-tick) and 0.512; fp32: no bf16 check step.
SETTINGS = dict(TINY, tick_kimg=0.5, checkpoint_every_kimg=0.25, sample_every_kimg=1.0, precision="fp32")
KIMG = 0.512
CLI_TRAIN = ["train", "image", "--data", "digits", "--resolution", "16", "--batch", "32", "--width", "8", "--z-dim", "16"]


class _Killed(BaseException):
    """Stands for SIGKILL inside the process: nothing after it runs, no final save, no last log line."""


def _kill_at(step: int):
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        if calls["n"] > step:
            raise _Killed
        return False

    return should_stop


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(code: int, err: str) -> None:
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _stats(row: dict) -> dict:
    """A metrics line without its wall-clock fields."""
    return {k: v for k, v in row.items() if k not in ("time_sec", "images_per_sec")}


def _same_weights(a: Path, b: Path) -> bool:
    x, y = load_file(str(a / "G.safetensors")), load_file(str(b / "G.safetensors"))
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    """The uninterrupted run every interrupted one is compared with."""
    root = tmp_path_factory.mktemp("hostile")
    result = ganforge.train(**SETTINGS, kimg=KIMG, out=str(root), name="full")
    assert result.status == "finished" and result.steps == 16
    return result.run_dir


# ------------------------------------------------------------------------------------------------- numbers
def _float_fields() -> list[tuple[str, str]]:
    """(task, field) for every float field of every task's config: the run's own and the task's."""
    from ganforge.tasks import task_specs

    run = [f.name for f in dataclasses.fields(TrainConfig) if "float" in str(f.type)]
    return [("image", name) for name in run] + [
        (spec.name, f.name) for spec in task_specs(include_hidden=False) for f in dataclasses.fields(spec.options)
        if "float" in str(f.type)]


@pytest.mark.parametrize(("task", "name"), _float_fields())
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_every_float_setting_must_be_finite(task, name, value):
    with pytest.raises(ConfigError, match=r"must be a finite number, got"):
        TrainConfig(task=task, **{name: value}).validate()


@pytest.mark.parametrize("seed", [-1, SEED_MAX + 1, 99999999999999999999, 1.5, True])
def test_seeds_out_of_range_are_config_errors(seed):
    with pytest.raises(ConfigError, match=r"--seed must be an integer in 0\.\.4294967295"):
        TrainConfig(seed=seed).validate()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kimg", "inf"], "--kimg must be a finite number, got inf"),
        (["--kimg", "nan"], "--kimg must be a finite number, got nan"),
        (["--lr-g", "inf"], "--lr-g must be a finite number, got inf"),
        (["--r1-gamma", "-inf"], "--r1-gamma must be a finite number, got -inf"),
        (["--minutes", "inf"], "--minutes must be a finite number, got inf"),
        (["--tick", "1e308"], "--tick must be at most 1e+09 kimg, got 1e+308"),
        (["--seed", "99999999999999999999"], "--seed must be an integer in 0..4294967295"),
        (["--seed", "-1"], "--seed must be an integer in 0..4294967295"),
        (["--z-dim", "99999999999999999999"], "--z-dim is too large"),
    ],
)
def test_numeric_options_are_one_line_errors_in_dry_runs(capsys, tmp_path, args, message):
    code, _, err = _cli(capsys, *CLI_TRAIN, *args, "--runs-dir", str(tmp_path), "--dry-run")
    _one_error_line(code, err)
    assert message in err
    assert not any(tmp_path.iterdir())


def test_infinite_budget_is_refused_before_training(capsys, tmp_path):
    code, _, err = _cli(capsys, *CLI_TRAIN, "--kimg", "inf", "--runs-dir", str(tmp_path), "--name", "inf")
    _one_error_line(code, err)
    assert "--kimg must be a finite number" in err and not (tmp_path / "inf").exists()


def test_largest_seed_trains(tmp_path):
    """Every seed derived from the largest one (data order, per-process noise) is still taken by torch and numpy."""
    result = ganforge.train(**SETTINGS, kimg=0.032, seed=SEED_MAX, out=str(tmp_path), name="big-seed")
    assert result.status == "finished" and result.steps == 1


def test_resume_with_an_infinite_budget_is_a_one_line_error(capsys, full):
    code, _, err = _cli(capsys, "train", "image", "--resume", str(full), "--kimg", "inf", "--dry-run")
    _one_error_line(code, err)
    assert "--kimg must be a finite number" in err


# ---------------------------------------------------------------------------------------- task on resume
def test_resume_refuses_another_task_or_model_and_takes_its_own(capsys, full):
    code, _, err = _cli(capsys, "train", "pix2pix", "--resume", str(full), "--dry-run")
    _one_error_line(code, err)
    assert "is a run of task image, model dcgan; it cannot be resumed as task pix2pix" in err
    assert f"ganforge train image --resume {full}" in err
    code, _, err = _cli(capsys, "train", "image", "--model", "stylegan2", "--resume", str(full), "--dry-run")
    _one_error_line(code, err)
    assert "task image, model dcgan; it cannot be resumed as task image, model stylegan2" in err
    code, out, _ = _cli(capsys, "train", "image", "--model", "dcgan", "--resume", str(full), "--kimg", "1", "--dry-run")
    plan = json.loads(out)
    assert code == 0 and plan["config"]["task"] == "image" and plan["start"].startswith("resume from")


# -------------------------------------------------------------------------------- metrics after a resume
def test_stop_mid_tick_then_resume_logs_the_uninterrupted_line(tmp_path, full):
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    stopped = ganforge.train(**SETTINGS, kimg=KIMG, out=str(tmp_path), name="run", should_stop=stop)
    assert stopped.status == "stopped" and stopped.steps == 5
    assert _rows(stopped.run_dir)[-1]["partial_steps"] == 5  # the cut tick says what it averages
    resumed = ganforge.train(resume=stopped.run_dir, kimg=KIMG)
    assert resumed.steps == 16 and _same_weights(resumed.checkpoint, full / "checkpoints" / "kimg-00000.512")
    assert [_stats(r) for r in _rows(resumed.run_dir)] == [_stats(r) for r in _rows(full)]


def test_kill_after_a_mid_tick_checkpoint_then_resume_logs_the_uninterrupted_line(tmp_path, full):
    with pytest.raises(_Killed):  # after step 12: the last checkpoint is 0.256 kimg, half way through the tick
        ganforge.train(**SETTINGS, kimg=KIMG, out=str(tmp_path), name="run", should_stop=_kill_at(12))
    run = tmp_path / "run"
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["kimg-00000.256"]
    resumed = ganforge.train(resume=run, kimg=KIMG)
    line, expected = _rows(run)[-1], _rows(full)[-1]
    assert line["kimg"] == expected["kimg"] == KIMG and "partial_steps" not in line
    assert _stats(line) == _stats(expected)  # Loss/D/adv and every other mean, bit for bit
    assert _same_weights(resumed.checkpoint, full / "checkpoints" / "kimg-00000.512")


# ---------------------------------------------------------------------- killed before the first checkpoint
def _killed_before_first_checkpoint(root: Path, name: str) -> Path:
    with pytest.raises(_Killed):
        ganforge.train(**SETTINGS, kimg=KIMG, out=str(root), name=name, should_stop=_kill_at(3))
    run = root / name
    assert (run / "config.json").is_file() and not list_checkpoints(run / "checkpoints")
    return run


def test_resume_of_a_run_without_checkpoint_starts_it_from_step_0_in_place(tmp_path, full, caplog):
    run = _killed_before_first_checkpoint(tmp_path, "run")
    (run / "samples" / "fakes-000099.000.png").write_bytes(b"a grid of the killed run")
    resumed = ganforge.train(resume=run, kimg=KIMG)
    assert resumed.run_dir == run and resumed.steps == 16
    assert "holds no complete checkpoint" in caplog.text and "from step 0 in place" in caplog.text
    assert _same_weights(resumed.checkpoint, full / "checkpoints" / "kimg-00000.512")  # as a fresh run
    assert [_stats(r) for r in _rows(run)] == [_stats(r) for r in _rows(full)]
    assert not (run / "samples" / "fakes-000099.000.png").exists()


def test_plain_rerun_of_a_run_without_checkpoint_restarts_it_but_never_one_with_checkpoints(tmp_path, full):
    run = _killed_before_first_checkpoint(tmp_path, "run")
    again = ganforge.train(**SETTINGS, kimg=KIMG, out=str(tmp_path), name="run")
    assert again.run_dir == run and again.steps == 16
    assert _same_weights(again.checkpoint, full / "checkpoints" / "kimg-00000.512")
    def files() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p.name != ".lock"}

    saved = files()
    with pytest.raises(ConfigError, match="already holds a run: continue it with --resume .* never started over"):
        ganforge.train(**SETTINGS, kimg=KIMG, out=str(tmp_path), name="run")
    assert files() == saved


def test_a_run_in_use_is_not_started_twice(tmp_path, full):
    with RunLock(full):
        with pytest.raises(ConfigError, match=r"is in use by another training process \(PID \d+\)"):
            ganforge.train(resume=full, kimg=KIMG)  # (nothing left to train, were the lock not to hold)


# -------------------------------------------------------------------------------------- debris of kills
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_leftovers_of_dead_writers_and_of_our_own_naming_are_removed(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    ckpts = tmp_path / "checkpoints"
    (tmp_path / "samples").mkdir()
    stale = [ckpts / f".tmp-kimg-00001.024-{dead}", ckpts / f".trash-kimg-00000.512-{dead}",
             ckpts / "best" / f".old-kimg-00000.512-{dead}"]
    for folder in stale:
        folder.mkdir(parents=True)
        (folder / "G.safetensors").write_bytes(b"half")
    stale += [tmp_path / f".metrics.jsonl.tmp-{dead}", tmp_path / "samples" / f".fakes-000001.024.tmp-{dead}.png"]
    kept = [ckpts / f".tmp-kimg-00001.536-{live}", tmp_path / f".config.json.tmp-{live}", tmp_path / ".tmp-notes",
            ckpts / f"tmp-kimg-00001.024-{dead}", tmp_path / "samples" / "my.tmp-1"]
    for path in stale[3:] + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text("x")
    assert sorted(remove_stale_leftovers(tmp_path)) == sorted(stale)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)


def test_sigkill_during_the_first_save_then_resume_restarts_and_cleans(capsys, tmp_path, full):
    """The issue's dead end through the command line: killed while writing its first checkpoint, the run has only
    a temp folder; --resume starts it again from step 0, and the dead process's temp folder is gone after it."""
    kill_during_save(tmp_path, SETTINGS, KIMG, "killed", inside=".tmp-kimg-", timeout=300)
    run = tmp_path / "killed"
    leftovers = list((run / "checkpoints").glob(".tmp-kimg-*"))
    assert leftovers and not list_checkpoints(run / "checkpoints")
    live = run / "checkpoints" / f".tmp-kimg-00009.999-{os.getpid()}"  # a live writer's: left alone
    live.mkdir()

    code, _, err = _cli(capsys, "train", "image", "--resume", str(run), "--kimg", str(KIMG))
    assert code == 0 and "Traceback" not in err and "error:" not in err, err
    assert not any(p.exists() for p in leftovers) and live.exists()
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["kimg-00000.256", "kimg-00000.512"]
    assert _same_weights(run / "checkpoints" / "kimg-00000.512", full / "checkpoints" / "kimg-00000.512")
