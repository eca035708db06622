"""Task attribute: pairs of one emoji in two skin tones (the split holds out whole emoji), a conditional U-Net GAN
that learns them (its counterfactual L1 falls, resume is exact), unpaired classes, the pipeline, `ganforge edit`
with an editor, `ganforge eval`, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import ganforge
from ganforge.cli.main import main
from ganforge.config import TrainConfig
from ganforge.errors import ConfigError, GanforgeError
from ganforge.nets.attribute import AttributeEditor, label_planes
from ganforge.registry import TASKS
from ganforge.tasks.attribute.data import attribute_set

TINY = dict(task="attribute", data="emoji", attribute="skin-tone", resolution=16, batch=8, width=8, d_layers=2,
            tick_kimg=0.032, sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4)


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tone_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ganforge.train(kimg=0.768, out=str(tmp_path_factory.mktemp("attr")), name="tone", **TINY).run_dir


def test_tone_pairs_are_counterfactuals_and_the_split_holds_out_whole_emoji() -> None:
    train, test = attribute_set("emoji", "skin-tone", 16, "train"), attribute_set("emoji", "skin-tone", 16, "test")
    assert train.class_names == ["none", "light", "medium-light", "medium", "medium-dark", "dark"]
    assert train.paired and len(train.sources) == len(train.targets) == len(train.names) > 1000
    assert (train.source_labels != train.target_labels).all()
    assert not set(train.names) & set(test.names)
    assert not np.array_equal(train.sources[0], train.targets[0])
    digits = attribute_set("mnist", "class", 16, "train")
    assert not digits.paired and digits.class_names == [str(i) for i in range(10)] and len(digits.sources) == 9000


def test_the_editor_reads_its_target_and_composites() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert label_planes(x, torch.tensor([1, 3]), 4).shape == (2, 7, 16, 16)
    for composite in (False, True):
        editor = AttributeEditor(channels=3, classes=4, composite=composite, resolution=16, width=4, norm="instance",
                                 dropout=0.0)
        a, b = editor(x, torch.tensor([0, 0])), editor(x, torch.tensor([2, 2]))
        assert a.shape == x.shape and not torch.allclose(a, b)
    head = editor.unet.ups[0][1]  # the last layer: its fourth output is the mask's pre-activation
    with torch.no_grad():
        head.weight[:, 3].zero_()
        head.bias[3] = -50.0  # mask = (tanh(-50) + 1) / 2 = 0: everything passes through
        assert torch.allclose(editor(x, torch.tensor([1, 1])), x, atol=1e-6)
        assert float(editor.mask(x, torch.tensor([1, 1])).max()) < 1e-6
    from ganforge.nets.attribute import AttributeCritic

    critic = AttributeCritic(3, 4, width=4, d_layers=2, norm="none")
    assert critic.classify(x).shape == (2, 4) and critic(x, torch.tensor([0, 3])).shape[:2] == (2, 1)


def test_training_learns_the_counterfactual(tone_run: Path) -> None:
    pair = [r["Loss/G/pair"] for r in rows(tone_run)]
    assert np.mean(pair[-3:]) < 0.75 * np.mean(pair[:2])
    assert all(np.isfinite(r["Loss/D/adv"]) and r["Loss/G/cycle"] >= 0 for r in rows(tone_run))


def test_resume_is_exact(tmp_path: Path) -> None:
    ganforge.train(kimg=0.032, out=str(tmp_path), name="straight", **TINY)
    ganforge.train(kimg=0.016, out=str(tmp_path), name="split", **TINY)
    assert ganforge.train(resume=tmp_path / "split", kimg=0.032).steps == 4
    a, b = (sorted((tmp_path / name / "checkpoints").glob("kimg-*"))[-1] for name in ("straight", "split"))
    for net in ("G", "D"):
        sa, sb = load_file(str(a / f"{net}.safetensors")), load_file(str(b / f"{net}.safetensors"))
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), net


def test_unpaired_classes_train_and_draw_other_targets(tmp_path: Path) -> None:
    run = ganforge.train(kimg=0.032, out=str(tmp_path), name="digits", **{**TINY, "data": "mnist",
                                                                          "attribute": "class"}).run_dir
    assert "Loss/G/pair" not in rows(run)[-1] and rows(run)[-1]["Loss/G/cycle"] > 0
    assert rows(run)[-1]["Loss/G/cls"] > 0 and rows(run)[-1]["Loss/D/cls"] > 0
    cfg = TrainConfig(task="attribute", data="mnist", attribute="class", resolution=16, width=8, d_layers=2).validate()
    task = TASKS.get("attribute")(cfg, TASKS.get("attribute").load_data(cfg).info)
    sources = torch.arange(10).repeat(5)
    targets = task.targets_for(sources, step=3)
    assert (targets != sources).all() and torch.equal(targets, task.targets_for(sources, step=3))
    assert len(set(targets.tolist())) > 5
    task.runtime = type("Rank1", (), {"rank": 1})()  # a second process draws its own targets
    assert not torch.equal(targets, task.targets_for(sources, step=3))


def test_the_caae_editor_keeps_a_style_code_and_draws_it_with_the_target(tmp_path: Path) -> None:
    from ganforge.nets.attribute import BottleneckEditor

    torch.manual_seed(0)
    editor = BottleneckEditor(channels=1, classes=10, resolution=16, width=4, z_dim=6).eval()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        code = editor.encode(x)
    assert code.shape == (3, 6) and float(code.abs().max()) <= 1
    a, b = editor(x, torch.tensor([0, 0, 0])), editor(x, torch.tensor([7, 7, 7]))
    assert a.shape == x.shape and not torch.allclose(a, b)  # the label decides, the code is the same
    run = ganforge.train(kimg=0.032, out=str(tmp_path), name="caae", model="caae",
                         **{**TINY, "data": "mnist", "attribute": "class"}).run_dir
    assert rows(run)[-1]["Loss/G/identity"] > 0 and rows(run)[-1]["Loss/G/cls"] > 0
    pipe = ganforge.load(run)
    out = pipe(attribute_set("mnist", "class", 16, "test").sources[:2], "7", output_type="np")
    assert out.shape == (2, 16, 16, 1)
    with pytest.raises(ConfigError, match="--composite"):
        TrainConfig(task="attribute", data="mnist", attribute="class", model="caae", composite=True).validate()


def test_pipeline_edit_command_and_eval(tone_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pipe = ganforge.load(tone_run)
    test = attribute_set("emoji", "skin-tone", 16, "test")
    out = pipe(test.sources[:3], "dark", output_type="np")
    assert out.shape == (3, 16, 16, 3) and out.dtype == np.uint8
    assert pipe.attribute_index("skin-tone:medium-dark") == 4 == pipe.attribute_index("medium-dark skin tone")
    with pytest.raises(GanforgeError, match="none, light"):
        pipe(test.sources[:1], "purple")
    source = tmp_path / "person.png"
    Image.fromarray(test.sources[0]).save(source)
    assert main(["edit", str(tone_run), str(source), "--direction", "dark", "--out", str(tmp_path / "d.png")]) == 0
    with Image.open(tmp_path / "d.png") as im:
        assert im.size == (16, 16) and json.loads(im.text["ganforge"])["settings"]["attribute"] == "dark"
    assert main(["edit", str(tone_run), str(source), "--direction", "dark", "--out", str(tmp_path / "s.gif")]) == 0
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 6
    assert main(["edit", str(tone_run), str(source), "--strokes", str(source), "--out", str(tmp_path / "x.png")]) != 0
    capsys.readouterr()
    assert main(["eval", str(tone_run), "--eval-n", "12", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "attribute" and result["n"] == 12 and result["unchanged"]["l1_ratio"] == 1.0
    assert 0 <= result["model"]["target_share"] <= 1 and result["model"]["l1_ratio"] > 0


def test_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="emoji set"):
        TASKS.get("attribute").load_data(TrainConfig(task="attribute", data="mnist", attribute="skin-tone",
                                                     resolution=16).validate())
    flat = tmp_path / "flat"  # a folder of images without class folders: nothing to change between
    flat.mkdir()
    for i in range(4):
        Image.new("RGB", (16, 16), (60 * i, 0, 0)).save(flat / f"{i}.png")
    with pytest.raises(ConfigError, match="labelled set"):
        TASKS.get("attribute").load_data(TrainConfig(task="attribute", data=str(flat), attribute="class",
                                                     resolution=16).validate())
    with pytest.raises(ConfigError, match="--attribute"):
        TrainConfig(task="attribute", attribute="age").validate()
