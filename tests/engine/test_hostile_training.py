"""Training against hostile input (issue 25): numbers out of range are one-line errors, in dry runs too."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.conftest import TINY

import ganforge
from ganforge.cli.main import main
from ganforge.config import SEED_MAX, TrainConfig
from ganforge.errors import ConfigError

# 16 steps of 32 images: one tick at 0.512 kimg, checkpoints at 0.256 (mid-tick) and 0.512; fp32: no bf16 check step.
SETTINGS = dict(TINY, tick_kimg=0.5, checkpoint_every_kimg=0.25, sample_every_kimg=1.0, precision="fp32")
KIMG = 0.512
CLI_TRAIN = ["train", "image", "--data", "digits", "--resolution", "16", "--batch", "32", "--width", "8", "--z-dim", "16"]


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(code: int, err: str) -> None:
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    """The uninterrupted run every interrupted one is compared with."""
    root = tmp_path_factory.mktemp("hostile")
    result = ganforge.train(**SETTINGS, kimg=KIMG, out=str(root), name="full")
    assert result.status == "finished" and result.steps == 16
    return result.run_dir


# ------------------------------------------------------------------------------------------------- numbers
def _float_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig) if "float" in str(f.type)]


@pytest.mark.parametrize("name", _float_fields())
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_every_float_setting_must_be_finite(name, value):
    with pytest.raises(ConfigError, match=r"must be a finite number, got"):
        TrainConfig(**{name: value}).validate()


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


