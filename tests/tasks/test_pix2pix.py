"""Task pix2pix: trains from A/B folders, L1 falls, the test split stays out, SPADE on label maps, config errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from tests.conftest import write_label_folder

import ganforge
from ganforge.config import TrainConfig
from ganforge.data.paired import resolve_paired
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.errors import ConfigError
from ganforge.registry import TASKS


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_pix2pix_trains_from_an_ab_folder(tmp_path, translation_folder, tiny_translation):
    root = translation_folder()
    result = ganforge.train(task="pix2pix", data=str(root), kimg=0.04, out=str(tmp_path), name="p", **tiny_translation)
    run = tmp_path / "p"
    assert result.status == "finished" and result.steps == 10
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "unet" and config["l1_weight"] == 100 and config["loss"] == "ns"
    assert (config["lr_g"], config["beta1"], config["beta2"], config["d_layers"]) == (2e-4, 0.5, 0.999, 2)
    assert "augment" not in config and config["lr_decay_start"] == 1.0  # the image task's option
    assert set(load_file(str(result.checkpoint / "G.safetensors"))) and (result.checkpoint / "D.safetensors").is_file()
    assert all("Loss/G/l1" in r and "Loss/D/adv" in r for r in _rows(run))
    grid = Image.open(result.last_grid)  # input | output | target: three columns of 16 px tiles
    assert grid.size[0] == 2 + 3 * (16 + 2)
    spec = json.loads((run / "model.json").read_text())
    assert spec["pipeline"] == "translation" and spec["stride"] == 16 and spec["directions"] == ["AtoB"]


def test_pix2pix_l1_falls(tmp_path, translation_folder, tiny_translation):
    root = translation_folder()
    settings = dict(tiny_translation, tick_kimg=0.04, lr_g=2e-3, lr_d=2e-3)
    ganforge.train(task="pix2pix", data=str(root), kimg=0.16, out=str(tmp_path), name="p", **settings)
    l1 = [r["Loss/G/l1"] for r in _rows(tmp_path / "p")]
    assert len(l1) == 4 and l1[-1] < 0.8 * l1[0], l1


def test_training_never_sees_the_test_split(translation_folder):
    root = translation_folder()
    cfg = TrainConfig(task="pix2pix", data=str(root), resolution=16).validate()
    data = TASKS.get("pix2pix").load_data(cfg)
    train = resolve_paired(str(root), 16, split="train")
    test = resolve_paired(str(root), 16, split="test")
    assert len(data.arrays["A"]) == len(train) == data.info.count == 18 and len(test) == 2
    assert np.array_equal(data.arrays["A"], train.a) and np.array_equal(data.arrays["B"], train.b)
    held_out = {tuple(x.ravel()[:64]) for x in test.a}
    assert not held_out & {tuple(x.ravel()[:64]) for x in data.arrays["A"]}


def test_direction_btoa_swaps_the_sides(translation_folder):
    root = translation_folder()
    forward = TASKS.get("pix2pix").load_data(TrainConfig(task="pix2pix", data=str(root), resolution=16).validate())
    back = TASKS.get("pix2pix").load_data(
        TrainConfig(task="pix2pix", data=str(root), resolution=16, direction="BtoA").validate())
    assert np.array_equal(back.arrays["A"], forward.arrays["B"]) and np.array_equal(back.arrays["B"], forward.arrays["A"])


def test_emoji_means_google_to_twitter(tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
    from gf_data_helpers import make_many_emoji_tarballs

    from ganforge.data import get_builtin
    from ganforge.data.builtin import npm

    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    tgzs = make_many_emoji_tarballs(tmp_path / "tarballs")
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")
    task = TASKS.get("pix2pix")
    data = task.load_data(TrainConfig(task="pix2pix", data="emoji", resolution=16).validate())
    back = task.load_data(TrainConfig(task="pix2pix", data="emoji", resolution=16, direction="BtoA").validate())
    # The helper draws google emoji with blue 100 and twitter ones with blue 200.
    assert data.arrays["A"][:, 8, 8, 2].tolist() == [100] * len(data.arrays["A"])
    assert data.arrays["B"][:, 8, 8, 2].tolist() == [200] * len(data.arrays["B"])
    assert np.array_equal(back.arrays["A"], data.arrays["B"])


def test_spade_trains_on_label_maps(tmp_path, tiny_translation):
    root = write_label_folder(tmp_path / "lab")
    settings = dict(tiny_translation, resolution=32)
    result = ganforge.train(task="pix2pix", model="spade", data=f"labels:{root}", kimg=0.016, out=str(tmp_path),
                            name="s", **settings)
    config = json.loads((tmp_path / "s" / "config.json").read_text())
    assert result.steps == 4 and config["loss"] == "hinge" and config["fm_weight"] == 10
    assert all(np.isfinite(r["Loss/G/fm"]) for r in _rows(tmp_path / "s"))
    pipe = ganforge.load(tmp_path / "s")
    ids = np.zeros((20, 28), np.uint8)
    ids[4:12, 4:20] = 2
    out = pipe(ids, output_type="np")
    assert out.shape == (1, 20, 28, 3)
    palette_map = Image.fromarray(ids, "P")  # palette PNGs hold ids as indices, as the data layer reads them
    palette_map.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    palette_map.save(tmp_path / "map.png")
    assert np.array_equal(pipe(tmp_path / "map.png", output_type="np"), out)
    with pytest.raises(ganforge.errors.GanforgeError, match="label maps"):
        pipe(np.zeros((8, 8, 3), np.uint8))


def test_spade_needs_label_maps(tmp_path, translation_folder, tiny_translation):
    root = translation_folder()
    with pytest.raises(ConfigError, match="--model spade turns label maps into images"):
        ganforge.train(task="pix2pix", model="spade", data=str(root), kimg=0.01, out=str(tmp_path), dry_run=True,
                       **dict(tiny_translation, resolution=32))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(task="image", l1_weight=5.0), "--l1-weight applies to inpaint, pix2pix and superres, not to task 'image'"),
        (dict(task="pix2pix", model="resnet"), "--model resnet belongs to task cyclegan"),
        (dict(task="pix2pix", direction="sideways"), "--direction must be AtoB or BtoA"),
        (dict(task="pix2pix", cond=True), "--cond applies to image, not to task 'pix2pix'"),
        (dict(task="pix2pix", l1_weight=-1.0), "--l1-weight must be >= 0"),
        (dict(task="cyclegan", d_layers=0), "--d-layers must lie in 1..8"),
        (dict(task="pix2pix", augment="ada"), "--augment applies to image and text2image, not to task 'pix2pix'"),
        # The image task's options, which no conditioned task reads.
        (dict(task="pix2pix", r1_gamma=1.0), "--r1-gamma applies to image, not to task 'pix2pix'"),
        (dict(task="cyclegan", z_dim=64), "--z-dim applies to image, text2image and video, not to task 'cyclegan'"),
        (dict(task="inpaint", d_norm="batch"), "--d-norm applies to image and superres, not to task 'inpaint'"),
        (dict(task="superres", resolution=16, scale=2, gp_weight=5.0), "--gp-weight applies to image, not"),
        (dict(task="pix2pix", model="spade", ada_target=0.7), "--ada-target applies to image, not"),
        (dict(task="cyclegan", pl_weight=2.0), "--pl-weight applies to image, not"),
        (dict(task="inpaint", residual=True), "--residual applies to cyclegan and pix2pix, not to task 'inpaint'"),
    ],
)
def test_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**settings).validate()


def test_pix2pix_loss_choice_and_deep_discriminator(tmp_path, translation_folder, tiny_translation):
    root = translation_folder()
    with pytest.raises(ConfigError, match="pix2pix takes --loss ns, lsgan, hinge"):
        ganforge.train(task="pix2pix", data=str(root), loss="rpgan", out=str(tmp_path), dry_run=True, **tiny_translation)
    with pytest.raises(ConfigError, match="--d-layers 3 needs images of at least 24 px"):
        ganforge.train(task="pix2pix", data=str(root), out=str(tmp_path), dry_run=True,
                       **dict(tiny_translation, d_layers=3))
    torch.manual_seed(0)
    result = ganforge.train(task="pix2pix", data=str(root), loss="lsgan", kimg=0.008, out=str(tmp_path), name="l",
                            **tiny_translation)
    assert result.steps == 2


def test_residual_pix2pix_trains_and_translates_from_the_identity(tmp_path, translation_folder, tiny_translation):
    root = translation_folder()
    result = ganforge.train(task="pix2pix", data=str(root), residual=True, kimg=0.008, out=str(tmp_path), name="r",
                            **tiny_translation)
    assert result.steps == 2 and json.loads((tmp_path / "r" / "config.json").read_text())["residual"] is True
    pipe = ganforge.load(tmp_path / "r")
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = np.asarray(pipe(image))[0]
    assert out.shape == (16, 16, 3) and np.abs(out.astype(int) - image).mean() < 40  # two steps from the identity
    default = ganforge.train(task="pix2pix", data=str(root), kimg=0.004, out=str(tmp_path), name="d", dry_run=True,
                             **tiny_translation)
    assert default["config"]["residual"] is False  # the paper's U-Net unless asked
    with pytest.raises(ConfigError, match="--residual applies to --model unet"):
        ganforge.train(task="pix2pix", model="spade", data=str(root), residual=True, kimg=0.01, out=str(tmp_path),
                       dry_run=True, **dict(tiny_translation, resolution=32))
    with pytest.raises(ConfigError, match="--residual adds the generator's output to its input.*label maps"):
        ganforge.train(task="pix2pix", data=f"labels:{write_label_folder(tmp_path / 'lab')}", residual=True, kimg=0.01,
                       out=str(tmp_path), dry_run=True, **dict(tiny_translation, resolution=32))
    # A run saved before --residual existed (no key in config.json) resumes, --no-residual included.
    config_path = tmp_path / "r" / "config.json"
    saved = json.loads(config_path.read_text())
    del saved["residual"]
    config_path.write_text(json.dumps(saved))
    resumed = ganforge.train(resume=tmp_path / "r", kimg=0.012, residual=False)
    assert resumed.steps == 3


def test_image_only_options_pass_when_unused_and_for_the_image_task():
    for task in ("pix2pix", "cyclegan", "inpaint"):
        resolved = TrainConfig(task=task, kimg=1.0).validate()  # holds its own options only: no r1_gamma, z_dim, ...
        assert "r1_gamma" not in resolved.to_dict() and "z_dim" not in resolved.to_dict()
        assert TrainConfig.from_dict(resolved.to_dict()).validate() == resolved  # as a resumed run's config
    assert "residual" not in TrainConfig(task="image", residual=False).validate().to_dict()  # --no-residual: nothing
    image = TrainConfig(task="image", r1_gamma=1.0, z_dim=16, d_norm="none", gp_weight=5.0, ada_target=0.7).validate()
    assert (image.r1_gamma, image.z_dim, image.d_norm, image.gp_weight, image.ada_target) == (1.0, 16, "none", 5.0, 0.7)


def test_batch_norm_generators_keep_no_ema_by_default(tmp_path, translation_folder, tiny_translation):
    # An EMA of a batch-norm U-Net averages the weights but copies the live BN statistics: off by default.
    assert TrainConfig(task="pix2pix").validate().ema_kimg == 0.0
    assert TrainConfig(task="pix2pix", model="spade").validate().ema_kimg == 0.0
    assert TrainConfig(task="pix2pix", ema_kimg=2.5).validate().ema_kimg == 2.5  # an explicit value is honoured
    assert TrainConfig(task="image").validate().ema_kimg == 10.0
    assert TrainConfig(task="inpaint").validate().ema_kimg == 10.0
    root = translation_folder()
    settings = {k: v for k, v in tiny_translation.items() if k != "ema_kimg"}
    result = ganforge.train(task="pix2pix", data=str(root), kimg=0.008, out=str(tmp_path), name="p", **settings)
    weights, state = load_checkpoint(result.checkpoint)
    assert "G_ema" not in weights and state["config"]["ema_kimg"] == 0.0
    pipe = ganforge.load(tmp_path / "p")  # so the pipeline translates with G itself
    loaded = next(iter(pipe.components.values())).state_dict()
    assert all(torch.equal(loaded[k].cpu(), weights["G"][k]) for k in weights["G"])
    kept = ganforge.train(task="pix2pix", data=str(root), kimg=0.008, out=str(tmp_path), name="e", ema_kimg=1.0,
                          **settings)
    assert "G_ema" in load_checkpoint(kept.checkpoint)[0]


def test_resize_conv_upsampling_trains_loads_and_is_checked(tmp_path, translation_folder, tiny_translation):
    root = translation_folder()
    for task in ("pix2pix", "cyclegan"):
        result = ganforge.train(task=task, data=str(root), upsample="resize", kimg=0.008, out=str(tmp_path),
                                name=task, **tiny_translation)
        assert result.steps == 2 and json.loads((tmp_path / task / "config.json").read_text())["upsample"] == "resize"
        pipe = ganforge.load(tmp_path / task)
        layers = [m for net in pipe.components.values() for m in net.modules()]
        assert any(isinstance(m, torch.nn.Upsample) for m in layers)
        assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in layers)  # rebuilt as trained
        image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        assert np.asarray(pipe(image))[0].shape == (16, 16, 3)
    default = ganforge.train(task="pix2pix", data=str(root), kimg=0.004, out=str(tmp_path), name="d", dry_run=True,
                             **tiny_translation)
    assert default["config"]["upsample"] == "transpose"  # the paper's U-Net unless asked
    with pytest.raises(ConfigError, match="--upsample must be transpose or resize, got 'bilinear'"):
        TrainConfig(task="pix2pix", upsample="bilinear").validate()
    with pytest.raises(ConfigError, match="--upsample applies to cyclegan, pix2pix and video, not to task 'image'"):
        TrainConfig(task="image", upsample="resize").validate()
    with pytest.raises(ConfigError, match="--upsample applies to --model unet"):
        TrainConfig(task="pix2pix", model="spade", upsample="resize").validate()
    assert TrainConfig(task="pix2pix", model="spade", upsample="transpose").validate().upsample == "transpose"
    assert TrainConfig(task="pix2pix", model="spade").validate().upsample is None  # spade has no such layers
    # A run saved before --upsample existed (no key in config.json) resumes as the paper's transposed convolutions.
    with pytest.raises(ConfigError, match="cannot change upsample when resuming"):
        ganforge.train(resume=tmp_path / "pix2pix", kimg=0.012, upsample="transpose")  # it was trained with resize
    old = ganforge.train(task="pix2pix", data=str(root), kimg=0.004, out=str(tmp_path), name="old", **tiny_translation)
    config_path = tmp_path / "old" / "config.json"
    saved = json.loads(config_path.read_text())
    del saved["upsample"]
    config_path.write_text(json.dumps(saved))
    assert ganforge.train(resume=tmp_path / "old", kimg=0.008, upsample="transpose").steps == old.steps + 1


def test_perceptual_weight_adds_the_inception_stem_term(tmp_path, translation_folder, tiny_translation):
    root = translation_folder(size=32)
    settings = dict(tiny_translation, resolution=32, perceptual_weight=10.0)
    ganforge.train(task="pix2pix", data=str(root), kimg=0.008, out=str(tmp_path), name="pc", **settings)
    rows = _rows(tmp_path / "pc")
    assert rows and all(r["Loss/G/perceptual"] > 0.0 for r in rows)
    assert json.loads((tmp_path / "pc" / "config.json").read_text())["perceptual_weight"] == 10.0
    assert TrainConfig(task="pix2pix").validate().perceptual_weight == 0.0  # the paper's loss by default
    with pytest.raises(ConfigError, match="at least 20"):
        TrainConfig(task="pix2pix", resolution=16, perceptual_weight=1.0).validate()
