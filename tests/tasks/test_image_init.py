"""`train image --init`: a new run starts from an earlier run, an export written with its discriminator, or zoo:NAME."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import ganforge
from ganforge.cli.main import main
from ganforge.config import TrainConfig
from ganforge.engine.checkpoint import latest_checkpoint, load_checkpoint, load_export
from ganforge.errors import ConfigError
from ganforge.registry import TASKS


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict[str, Path]:
    """A tiny DCGAN run and its export written with the discriminator."""
    from tests.conftest import TINY

    root = tmp_path_factory.mktemp("init-source")
    ganforge.train(**TINY, kimg=0.064, out=str(root), name="run")
    assert main(["export", str(root / "run"), "--out", str(root / "export"), "--with-discriminator"]) == 0
    return {"run": root / "run", "export": root / "export", "root": root}


def built_task(tiny: dict, **changes):
    config = TrainConfig(**dict(tiny, augment="none", **changes)).validate()
    task_cls = TASKS.get("image")
    task = task_cls(config, task_cls.load_data(config).info)
    task.start_fresh()
    return task


def same(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, state[k]) for k, v in module.state_dict().items())


def test_an_export_with_its_discriminator_samples_as_before_and_says_what_it_holds(source, tmp_path, capsys):
    config, weights = load_export(source["export"])
    assert config["training_networks"] == ["D"] and set(weights) == {"generator", "D"}
    plain = ganforge.load(source["run"]).save_pretrained(tmp_path / "plain")
    assert "training_networks" not in json.loads((plain / "config.json").read_text())
    a = ganforge.load(source["export"])(n=4, seed=3, output_type="np")
    assert (a == ganforge.load(plain)(n=4, seed=3, output_type="np")).all()
    # Re-exporting the export (no D in its pipeline) does not claim a discriminator it no longer writes.
    again = ganforge.load(source["export"]).save_pretrained(tmp_path / "again")
    assert "training_networks" not in json.loads((again / "config.json").read_text())
    assert main(["export", str(again), "--out", str(tmp_path / "x"), "--with-discriminator"]) == 2
    assert "is an export without its discriminator: export the run it came from" in capsys.readouterr().err
    # An export that holds D passes it on.
    assert main(["export", str(source["export"]), "--out", str(tmp_path / "y"), "--with-discriminator"]) == 0
    assert set(load_export(tmp_path / "y")[1]) == {"generator", "D"}


def test_init_from_an_export_loads_its_generator_and_discriminator(source, tiny):
    _, weights = load_export(source["export"])
    task = built_task(tiny, init=str(source["export"]))
    assert task.init_loaded == ["G", "D"]
    assert same(task.G, weights["generator"]) and same(task.D, weights["D"])


def test_init_from_a_run_loads_the_raw_generator(source, tiny):
    nets, _ = load_checkpoint(latest_checkpoint(source["run"]))
    task = built_task(tiny, init=str(source["run"]))
    assert same(task.G, nets["G"]) and same(task.D, nets["D"])
    assert not same(task.G, nets["G_ema"])


def test_init_from_a_zoo_name_and_training_on(source, tiny, tmp_path, monkeypatch):
    zoo = tmp_path / "zoo"
    shutil.copytree(source["export"], zoo / "tiny")
    card = dict(name="tiny", task="image", model="dcgan", data="digits", resolution=16, kimg=0.064, command="test")
    (zoo / "tiny" / "card.json").write_text(json.dumps(card))
    monkeypatch.setenv("GANFORGE_ZOO", str(zoo))
    result = ganforge.train(**tiny, init="zoo:tiny", kimg=0.064, out=str(tmp_path), name="more")
    assert result.status == "finished"
    assert json.loads((tmp_path / "more" / "config.json").read_text())["init"] == "zoo:tiny"
    # A resumed run reads its own checkpoint, not the source, which may since have gone.
    shutil.rmtree(zoo / "tiny")
    assert ganforge.train(resume=tmp_path / "more", kimg=0.096).status == "finished"


def test_a_discriminator_built_otherwise_is_one_short_line(source, tiny):
    with pytest.raises(ConfigError, match=r"its D does not fit this run's \(\d+ tensors differ, first .*--d-norm") as info:
        built_task(tiny, init=str(source["export"]), d_norm="none")
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


@pytest.mark.parametrize("changes, message", [
    (dict(width=4), "built otherwise than this run's generator: .*width 8 there, 4 here"),
    (dict(model="r3gan"), "built otherwise than this run's generator: 'dcgan.generator' there, 'r3gan.generator'"),
])
def test_a_source_built_otherwise_is_one_clear_line(source, tiny, changes, message):
    with pytest.raises(ConfigError, match=message):
        built_task(tiny, init=str(source["export"]), **changes)


@pytest.mark.parametrize("init, message", [
    ("zoo:nope", "--init zoo:nope: no shipped model zoo:nope"),
    ("/no/such/run", "--init /no/such/run: no such run or exported model"),
])
def test_a_missing_source_fails_before_any_work(tiny, init, message, monkeypatch, tmp_path):
    monkeypatch.setenv("GANFORGE_ZOO", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match=message):
        ganforge.train(**tiny, init=init, out=str(tmp_path), dry_run=True)


def test_ada_takes_up_the_p_its_discriminator_was_last_trained_at(source, tiny, tmp_path):
    """A model trained with ADA ends with D used to augmented images (p = 0.83 for zoo:emoji-32): a run started from
    it (its D included) starts at that p, from a run's checkpoint or from an export written with its D."""
    run = tmp_path / "run"
    shutil.copytree(source["run"], run)
    state_file = latest_checkpoint(run) / "state.json"
    state = json.loads(state_file.read_text())
    state["task_state"]["augment"] = dict(state["task_state"].get("augment") or {}, p=0.37)
    state_file.write_text(json.dumps(state))
    assert main(["export", str(run), "--out", str(tmp_path / "export"), "--with-discriminator"]) == 0
    assert json.loads((tmp_path / "export" / "config.json").read_text())["training_state"] == {"augment_p": 0.37}
    plain = ganforge.load(run).save_pretrained(tmp_path / "plain")  # no D: nothing to carry
    assert "training_state" not in json.loads((plain / "config.json").read_text())

    def started(init: Path, augment: str):
        config = TrainConfig(**{**tiny, "augment": augment, "init": str(init)}).validate()
        task = TASKS.get("image")(config, TASKS.get("image").load_data(config).info)
        task.start_fresh()
        return task

    assert started(run, "ada").augment.p == pytest.approx(0.37)
    assert started(tmp_path / "export", "ada").augment.p == pytest.approx(0.37)
    assert started(plain, "ada").augment.p == 0.0  # G alone: a D trained afresh starts at p = 0
    assert started(source["export"], "ada").augment.p == 0.0  # a source trained without ADA
    started(tmp_path / "export", "diffaug")  # another augmentation: nothing to take up, no error


def test_an_export_whose_ada_p_is_not_a_probability_is_one_line(source, tiny, tmp_path):
    shutil.copytree(source["export"], tmp_path / "export")
    config_file = tmp_path / "export" / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "training_state": {"augment_p": "high"}}))
    with pytest.raises(ConfigError, match=r"training_state.augment_p must be a number in \(0, 1\], got 'high'"):
        built_task(tiny, init=str(tmp_path / "export"))
