"""Task inpaint: the FFC generator, the hole-weighted L1, training (hole L1 falls), exact resume with masks,
the held-out split, and config errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from tests.gf_inpaint import TINY_INPAINT, write_image_folder

import ganforge
from ganforge.config import TrainConfig
from ganforge.data.split import resolve_split_images
from ganforge.errors import ConfigError
from ganforge.losses.reconstruction import hole_weighted_l1_loss
from ganforge.nets.ffc import LamaGenerator, composite, inpaint_input
from ganforge.registry import TASKS
from ganforge.tasks.base import batch_positions
from ganforge.tasks.inpaint.task import training_masks


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_lama_generator_shapes_and_any_multiple_of_the_stride():
    torch.manual_seed(0)
    G = LamaGenerator(channels=3, width=8, n_down=2, n_blocks=2).eval()
    assert G.stride == 4
    for h, w in ((16, 16), (24, 40)):
        x = inpaint_input(torch.rand(2, 3, h, w) * 2 - 1, (torch.rand(2, 1, h, w) > 0.5).float())
        out = G(x)
        assert out.shape == (2, 3, h, w) and out.abs().max() <= 1
    with pytest.raises(ValueError, match="multiples of 4"):
        G(torch.zeros(1, 4, 18, 16))


def test_composite_keeps_known_pixels_exactly():
    image, pred = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    mask = (torch.rand(2, 1, 8, 8) > 0.5).float()
    out = composite(pred, image, mask)
    keep = ~mask.bool().expand_as(image)
    assert torch.equal(out[keep], image[keep]) and torch.equal(out[~keep], pred[~keep])
    assert torch.equal(inpaint_input(image, mask)[:, :3][~keep], torch.zeros_like(image[~keep]))


def test_hole_weighted_l1():
    out, target = torch.zeros(1, 2, 2, 2), torch.ones(1, 2, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert hole_weighted_l1_loss(out, target, mask, 6.0).item() == pytest.approx((6 + 3) * 2 / 8)
    assert hole_weighted_l1_loss(out, target, mask, 1.0).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mask"):
        hole_weighted_l1_loss(out, target, torch.ones(1, 1, 3, 3))


def test_training_masks_are_a_pure_function_of_the_step():
    one = batch_positions(5, 4, 0, 1)
    a, b = training_masks(0, 5, one, 16), training_masks(0, 5, one, 16)
    assert a.shape == (4, 16, 16) and a.dtype == bool and np.array_equal(a, b)
    assert not np.array_equal(a, training_masks(0, 6, batch_positions(6, 4, 0, 1), 16))
    assert not np.array_equal(a, training_masks(1, 5, one, 16))
    assert all(0 < m.mean() < 1 for m in a)
    # Each item's mask follows its place in the global batch, so two processes draw what one would:
    # rank r holds items r, r + 2 of the batch.
    halves = [training_masks(0, 5, batch_positions(5, 4, rank, 2), 16) for rank in (0, 1)]
    assert np.array_equal(np.stack([halves[0][0], halves[1][0], halves[0][1], halves[1][1]]), a)


def test_inpaint_trains_from_a_folder(tmp_path):
    images = write_image_folder(tmp_path / "images")
    result = ganforge.train(data=str(images), kimg=0.016, out=str(tmp_path), name="r", **TINY_INPAINT)
    run = tmp_path / "r"
    assert result.status == "finished" and result.steps == 4
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "lama" and config["loss"] == "hinge" and config["hole_weight"] == 6.0
    assert (config["l1_weight"], config["fm_weight"], "augment" in config) == (10.0, 10.0, False)
    assert set(load_file(str(result.checkpoint / "G.safetensors"))) and (result.checkpoint / "D.safetensors").is_file()
    assert all("Loss/G/l1_hole" in r and "Loss/D/adv" in r and "Loss/G/fm" in r for r in _rows(run))
    grid = Image.open(result.last_grid)  # input | mask | output | truth
    assert grid.size[0] == 2 + 4 * (16 + 2)
    spec = json.loads((run / "model.json").read_text())
    assert spec["pipeline"] == "inpaint" and spec["stride"] == 4 and spec["channels"] == 3


def test_hole_l1_falls(tmp_path):
    images = write_image_folder(tmp_path / "images", n=40, coarse=2)  # smooth gradients: the rim predicts the hole
    settings = dict(TINY_INPAINT, width=8, tick_kimg=0.04, lr_g=3e-3, batch=8)
    ganforge.train(data=str(images), kimg=0.48, out=str(tmp_path), name="r", **settings)
    hole = [r["Loss/G/l1_hole"] for r in _rows(tmp_path / "r")]
    # each tick sees other masks (areas vary), so compare means of several ticks
    assert len(hole) == 12 and np.mean(hole[-4:]) < 0.75 * np.mean(hole[:2]), hole


def test_resume_is_exact_masks_included(tmp_path):
    images = write_image_folder(tmp_path / "images")
    ganforge.train(data=str(images), kimg=0.032, out=str(tmp_path), name="straight", **TINY_INPAINT)
    ganforge.train(data=str(images), kimg=0.016, out=str(tmp_path), name="split", **TINY_INPAINT)
    result = ganforge.train(resume=tmp_path / "split", kimg=0.032)
    assert result.steps == 8
    ckpt_a = sorted((tmp_path / "straight" / "checkpoints").glob("kimg-*"))[-1]
    ckpt_b = sorted((tmp_path / "split" / "checkpoints").glob("kimg-*"))[-1]
    assert ckpt_a.name == ckpt_b.name
    for net in ("G", "D"):
        a = load_file(str(ckpt_a / f"{net}.safetensors"))
        b = load_file(str(ckpt_b / f"{net}.safetensors"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), net
    la, lb = _rows(tmp_path / "straight")[-1], _rows(tmp_path / "split")[-1]
    assert la["Loss/G/l1"] == lb["Loss/G/l1"] and la["Mask/area"] == lb["Mask/area"]


def test_training_never_sees_the_held_out_split(tmp_path):
    images = write_image_folder(tmp_path / "images", n=30)
    cfg = TrainConfig(task="inpaint", data=str(images), resolution=16).validate()
    data = TASKS.get("inpaint").load_data(cfg)
    _, train = resolve_split_images(str(images), 16, split="train")
    _, test = resolve_split_images(str(images), 16, split="test")
    assert len(train) == data.info.count == 27 and len(test) == 3
    assert np.array_equal(data.arrays["image"], train)
    held_out = {x.tobytes() for x in test}
    assert not held_out & {x.tobytes() for x in data.arrays["image"]}


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="--hole-weight applies to inpaint"):
        TrainConfig(task="pix2pix", hole_weight=3.0).validate()
    with pytest.raises(ConfigError, match="belongs to task pix2pix"):
        TrainConfig(task="inpaint", model="unet").validate()
    with pytest.raises(ConfigError, match="--cond"):
        TrainConfig(task="inpaint", cond=True).validate()
    with pytest.raises(ConfigError, match="hole-weight must be positive"):
        TrainConfig(task="inpaint", hole_weight=0.0).validate()
    cfg = TrainConfig(task="inpaint").validate()
    assert (cfg.model, cfg.n_blocks, cfg.d_layers) == ("lama", 4, 3) and not hasattr(cfg, "z_dim")  # no latent
