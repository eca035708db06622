"""Pretrained models shipped with ganforge: `zoo:NAME` wherever a RUN goes, and `ganforge models`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import ganforge
from ganforge.cli.main import main
from ganforge.errors import CheckpointError
from ganforge.zoo import model_cards

EXPORT = Path(__file__).parent / "fixtures" / "v1" / "export-image-dcgan"  # a tiny DCGAN export (16 px, grayscale)
SHIPPED = Path(ganforge.__file__).parent / "zoo"


@pytest.fixture()
def zoo(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "zoo"
    shutil.copytree(EXPORT, root / "tiny-16")
    card = dict(name="tiny-16", task="image", model="dcgan", data="digits", resolution=16, kimg=0.048,
                command="benchmarks/task_fingerprint.py", metrics={"fid": 300.0, "n": 100},
                description="a tiny test model")
    (root / "tiny-16" / "card.json").write_text(json.dumps(card))
    monkeypatch.setenv("GANFORGE_ZOO", str(root))
    return root


def test_a_zoo_name_loads_like_an_export(zoo):
    images = ganforge.load("zoo:tiny-16")(n=3, seed=1, output_type="np")
    assert images.shape == (3, 16, 16, 1)
    assert np.array_equal(images, ganforge.load(EXPORT)(n=3, seed=1, output_type="np"))
    with pytest.raises(CheckpointError, match="no shipped model zoo:nope; `ganforge models` lists them: zoo:tiny-16"):
        ganforge.load("zoo:nope")


def test_models_lists_the_cards_and_sample_takes_a_zoo_name(zoo, tmp_path, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "zoo:tiny-16" in out and "fid 300" in out
    assert main(["models", "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in cards] == ["tiny-16"] and cards[0]["metrics"]["fid"] == 300.0
    assert main(["sample", "zoo:tiny-16", "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").is_file()


def test_an_empty_zoo_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANFORGE_ZOO", str(tmp_path / "empty"))
    assert main(["models"]) == 0 and "no pretrained models" in capsys.readouterr().out


def test_every_shipped_model_has_a_card_loads_and_samples(monkeypatch):
    monkeypatch.delenv("GANFORGE_ZOO", raising=False)
    cards = model_cards()
    assert sum(card.size_bytes for card in cards) <= 20 * 2**20  # the project's budget for shipped weights
    for card in cards:
        assert card.path.parent == SHIPPED and card.command and "fid" in card.metrics
        images = ganforge.load(f"zoo:{card.name}")(n=2, seed=0, output_type="np")
        assert images.shape[:3] == (2, card.resolution, card.resolution)


def test_eval_of_a_zoo_model_takes_its_data_from_the_card(zoo, monkeypatch, capsys):
    from tests.metric_stubs import PoolFeatures

    monkeypatch.setattr("ganforge.metrics.compute.get_extractor", lambda *a, **k: PoolFeatures())
    assert main(["eval", "zoo:tiny-16", "--eval-n", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_fake"] == 8 and any(key.startswith("fid") for key in result)


def test_every_shipped_model_holds_its_discriminator_for_train_init(monkeypatch):
    # `ganforge demo` trains on from zoo:emoji-32: a run built from the card's settings must take G and D.
    from ganforge.config import TrainConfig
    from ganforge.registry import TASKS
    from ganforge.tasks.base import DataInfo
    from ganforge.tasks.spec import task_spec

    monkeypatch.delenv("GANFORGE_ZOO", raising=False)
    for card in model_cards():
        config = TrainConfig(task=card.task, model=card.model, data=card.data, resolution=card.resolution,
                             augment="none", init=f"zoo:{card.name}").validate()
        task_spec(card.task).load_task()
        channels = json.loads((card.path / "config.json").read_text())["channels"]
        task = TASKS.get(card.task)(config, DataInfo(name=card.data, resolution=card.resolution, channels=channels,
                                                     count=1000))
        task.start_fresh()
        assert task.init_loaded == ["G", "D"], card.name
