"""Runs and exports written before the config split (config.json version 1: every task's fields, flat) still load,
resume and sample. The fixtures under tests/fixtures/v1 were written by ganforge at bf47918, the commit before the
split: `benchmarks/task_fingerprint.py --src <that tree's src> --keep DIR` (one tiny run per case; their config.json
files, and the image-dcgan run whole), and `ganforge export` of that run by the same tree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import ganforge
from ganforge.config import CONFIG_VERSION, RENAMED, TrainConfig
from ganforge.errors import ConfigError
from ganforge.options import fields_by_name
from ganforge.tasks import task_spec

V1 = Path(__file__).parent / "fixtures" / "v1"
CONFIGS = sorted((V1 / "configs").glob("*.json"))


def test_every_task_has_a_v1_fixture():
    assert {json.loads(p.read_text())["task"] for p in CONFIGS} == {
        "image", "pix2pix", "cyclegan", "inpaint", "superres", "nextframe", "video"}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_a_v1_config_loads_with_every_value_it_used(path):
    old = json.loads(path.read_text())
    assert "config_version" not in old
    config = TrainConfig.load(path)
    new = config.to_dict()
    assert new["config_version"] == CONFIG_VERSION
    for key, value in old.items():
        key = RENAMED.get(key, key)
        if key in new:
            assert new[key] == value, key  # kept, unchanged (a renamed field under its new name)
        else:  # dropped: a field no part of this task reads (another task's, or the old file's bookkeeping)
            assert key not in fields_by_name(task_spec(old["task"]).options) and key not in fields_by_name(TrainConfig)
    assert config.validate() == config  # a run's saved config is already resolved


@pytest.mark.parametrize("path", CONFIGS[:3], ids=[p.stem for p in CONFIGS[:3]])
def test_a_migrated_config_saves_as_the_new_version_and_reads_back(tmp_path, path):
    config = TrainConfig.load(path)
    config.save(tmp_path / "config.json")
    assert json.loads((tmp_path / "config.json").read_text())["config_version"] == CONFIG_VERSION
    assert TrainConfig.load(tmp_path / "config.json") == config


def test_a_new_config_with_another_tasks_key_is_still_an_error(tmp_path):
    values = TrainConfig(task="pix2pix").to_dict()
    (tmp_path / "config.json").write_text(json.dumps({**values, "r1_gamma": 1.0}))
    with pytest.raises(ConfigError, match="--r1-gamma applies to image, not to task 'pix2pix'"):
        TrainConfig.load(tmp_path / "config.json")


def test_a_v1_run_samples_resumes_and_exports(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(V1 / "run-image-dcgan", run)
    pipe = ganforge.load(run)
    images = pipe(n=2, seed=0, output_type="np")
    assert images.shape == (2, 16, 16, 1) and images.dtype == np.uint8
    resumed = ganforge.train(resume=run, kimg=0.072)
    assert resumed.status == "finished" and resumed.kimg == pytest.approx(0.072)
    assert json.loads((run / "config.json").read_text())["config_version"] == CONFIG_VERSION
    from ganforge.cli.main import main

    assert main(["export", str(run), "--out", str(tmp_path / "export")]) == 0
    assert ganforge.load(tmp_path / "export")(n=1, output_type="np").shape == (1, 16, 16, 1)


def test_a_v1_export_loads_and_generates_as_before():
    export = V1 / "export-image-dcgan"
    pipe = ganforge.load(export)
    again = ganforge.load(V1 / "run-image-dcgan")  # the run it was exported from: the same generator
    assert np.array_equal(pipe(n=3, seed=5, output_type="np"), again(n=3, seed=5, output_type="np"))
