"""Task superres: trains on the one trainer, PSNR rises, the two phases, exact resume, --init, config errors."""

from __future__ import annotations

import json

import pytest
import torch
from tests.superres_helpers import TINY_SR, write_sr_folder

import ganforge
from ganforge.config import TrainConfig
from ganforge.data.superres import resolve_superres
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.errors import ConfigError
from ganforge.registry import TASKS
from ganforge.tasks.superres.evaluate import load_sr_test, sr_scores


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_pixel_loss_run_raises_psnr_over_its_start(tmp_path):
    root = write_sr_folder(tmp_path / "imgs")
    settings = dict(TINY_SR, data=str(root), adv_weight=0.0, lr_g=2e-3, out=str(tmp_path), name="px")
    ganforge.train(**settings, kimg=0.004)  # one step: about the initial (near-bilinear) network
    pipe = ganforge.load(tmp_path / "px")
    test = load_sr_test(pipe)
    before = sr_scores(pipe.upscale_batch(test["low"]), test["high"], 2)["psnr_y"]
    ganforge.train(resume=tmp_path / "px", kimg=0.2)
    after = sr_scores(ganforge.load(tmp_path / "px").upscale_batch(test["low"]), test["high"], 2)["psnr_y"]
    assert after > before + 0.5, (before, after)
    config = json.loads((tmp_path / "px" / "config.json").read_text())
    assert config["model"] == "srresnet" and config["loss"] == "ragan" and "augment" not in config
    assert all(r["Phase/adversarial"] == 0.0 and "Loss/D/adv" not in r for r in _rows(tmp_path / "px"))


def test_phases_defaults_and_grid(tmp_path):
    root = write_sr_folder(tmp_path / "imgs")
    result = ganforge.train(**TINY_SR, data=str(root), kimg=0.032, out=str(tmp_path), name="gan")
    run = tmp_path / "gan"
    config = json.loads((run / "config.json").read_text())
    assert (config["l1_weight"], config["adv_weight"], config["pretrain_kimg"]) == (1e-2, 5e-3, 0.016)
    assert (config["beta1"], config["beta2"], config["degradation"]) == (0.9, 0.99, "bicubic")
    phases = [r["Phase/adversarial"] for r in _rows(run)]
    assert phases[0] == 0.0 and phases[-1] == 1.0 and "Loss/D/adv" in _rows(run)[-1]
    spec = json.loads((run / "model.json").read_text())
    assert spec["pipeline"] == "superres" and spec["scale"] == 2 and spec["components"]["generator"]["class"] == "sr.srresnet"
    from PIL import Image

    assert Image.open(result.last_grid).size[0] == 2 + 3 * (16 + 2)  # bicubic | output | truth


def test_d_norm_picks_the_discriminator_and_batch_norm_trains(tmp_path):
    """auto and batch: ESRGAN's batch norm without spectral norm; none: neither."""
    from ganforge.tasks.base import DataInfo

    info = DataInfo(name="x", resolution=16, channels=3, count=4, in_channels=3, counts={"hr": 4})

    def d_kind(d_norm):
        task = TASKS.get("superres")(TrainConfig(**TINY_SR, d_norm=d_norm).validate(), info)
        names = {type(m).__name__ for m in task.D.modules()}
        return "BatchNorm2d" in names, any("parametrizations" in k for k in task.D.state_dict())

    assert d_kind("auto") == (True, False)
    assert d_kind("batch") == (True, False)
    assert d_kind("none") == (False, False)
    root = write_sr_folder(tmp_path / "imgs")
    ganforge.train(**dict(TINY_SR, data=str(root), d_norm="batch", pretrain_kimg=0.0), kimg=0.016, out=str(tmp_path), name="bn")
    rows = _rows(tmp_path / "bn")
    assert all(r["Phase/adversarial"] == 1.0 and 0.0 < r["Loss/D/adv"] < 5.0 for r in rows)
    assert json.loads((tmp_path / "bn" / "config.json").read_text())["d_norm"] == "batch"


def test_batch_defaults_to_sixteen_crops_for_superres_only():
    """SRGAN/ESRGAN's 16 crops a step for superres; the other tasks keep 64; an explicit --batch wins."""
    assert TrainConfig(task="superres", resolution=64).validate().batch == 16
    assert TrainConfig(task="superres", resolution=64, batch=8).validate().batch == 8
    assert TrainConfig(task="image").validate().batch == 64
    assert TrainConfig(task="pix2pix").validate().batch == 64
    saved = TrainConfig(task="superres", resolution=64).validate()
    assert TrainConfig.from_dict(saved.to_dict()).validate() == saved  # a resolved config validates again


def test_resume_is_exact_across_the_phase_change(tmp_path):
    root = write_sr_folder(tmp_path / "imgs")
    settings = dict(TINY_SR, data=str(root), degradation="realistic", model="rrdb", n_blocks=1, ema_kimg=0.01,
                    pretrain_kimg=0.012, out=str(tmp_path))
    full = ganforge.train(**settings, kimg=0.032, name="full")
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    part = ganforge.train(**settings, kimg=0.032, name="split", should_stop=stop)
    assert part.status == "stopped" and part.steps == 2  # still pre-training; adversarial from step 3
    resumed = ganforge.train(resume=tmp_path / "split", kimg=0.032)
    assert resumed.steps == full.steps == 8
    w_full, _ = load_checkpoint(full.checkpoint)
    w_res, _ = load_checkpoint(resumed.checkpoint)
    assert set(w_full) == {"G", "D", "G_ema"}
    for net in w_full:
        assert all(torch.equal(w_full[net][k], w_res[net][k]) for k in w_full[net]), net


def test_init_starts_from_a_pixel_loss_run(tmp_path):
    root = write_sr_folder(tmp_path / "imgs")
    base = dict(TINY_SR, data=str(root), out=str(tmp_path))
    ganforge.train(**base, adv_weight=0.0, kimg=0.008, name="px")
    px, _ = load_checkpoint(next((tmp_path / "px" / "checkpoints").iterdir()))
    plan = ganforge.train(**base, init=str(tmp_path / "px"), kimg=0.008, name="gan", dry_run=True)
    assert plan["config"]["pretrain_kimg"] == 0.0
    cfg = TrainConfig(**dict(base, init=str(tmp_path / "px"))).validate()
    task = TASKS.get("superres")(cfg, TASKS.get("superres").load_data(cfg).info)
    task.start_fresh()
    assert all(torch.equal(v, px["G"][k]) for k, v in task.G.state_dict().items())
    with pytest.raises(ConfigError, match="n_blocks"):
        ganforge.train(**dict(base, n_blocks=3), init=str(tmp_path / "px"), kimg=0.008, name="bad", dry_run=True)


def test_training_never_sees_the_held_out_images(tmp_path):
    root = write_sr_folder(tmp_path / "imgs")
    cfg = TrainConfig(**dict(TINY_SR, data=str(root))).validate()
    data = TASKS.get("superres").load_data(cfg)
    train, test = resolve_superres(str(root), 16, "train"), resolve_superres(str(root), 16, "test")
    assert data.info.count == len(train) == 18 and len(test) == 2 and data.arrays["hr"].shape[1:] == (32, 32, 3)
    seen = {x.tobytes() for x in data.arrays["hr"]}
    assert not seen & {x.tobytes() for x in test.images}


@pytest.mark.parametrize("changes, message", [
    (dict(scale=3), "--scale must be 2 or 4, got 3"),
    (dict(resolution=18, scale=4), "must be a multiple of --scale"),
    (dict(resolution=8, scale=4), "at least 4 px"),
    (dict(degradation="jpeg"), "--degradation must be bicubic or realistic"),
    (dict(model="unet"), "belongs to task pix2pix"),
    (dict(adv_weight=-1.0), "--adv-weight must be >= 0"),
    (dict(augment="ada"), "--augment applies to image and text2image, not to task 'superres'"),
])
def test_bad_options_are_clear_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**dict(TINY_SR, data="digits", **changes)).validate()
    with pytest.raises(ConfigError, match="--scale applies to superres"):
        TrainConfig(task="image", scale=2).validate()


def test_minutes_alone_needs_kimg_or_pretrain_kimg():
    # Half of no --kimg budget is nothing to pre-train on: that used to start the GAN from random weights.
    with pytest.raises(ConfigError, match="give --kimg .* or --pretrain-kimg"):
        TrainConfig(**dict(TINY_SR, data="digits", minutes=5.0)).validate()
    assert TrainConfig(**dict(TINY_SR, data="digits", minutes=5.0, kimg=10.0)).validate().pretrain_kimg == 5.0
    assert TrainConfig(**dict(TINY_SR, data="digits", minutes=5.0, pretrain_kimg=2.0)).validate().pretrain_kimg == 2.0
    assert TrainConfig(**dict(TINY_SR, data="digits", minutes=5.0, adv_weight=0.0)).validate().pretrain_kimg == 0.0
    assert TrainConfig(**dict(TINY_SR, data="digits")).validate().pretrain_kimg == 50.0  # half the default 100


def test_resume_after_the_init_run_is_gone(tmp_path):
    # The resumed run's checkpoint holds its own weights: it must not read the --init run again.
    import shutil

    root = write_sr_folder(tmp_path / "imgs")
    base = dict(TINY_SR, data=str(root), out=str(tmp_path))
    ganforge.train(**base, adv_weight=0.0, kimg=0.008, name="px")
    settings = dict(base, init=str(tmp_path / "px"), name="gan")
    full = ganforge.train(**dict(settings, name="full"), kimg=0.016)
    polls: list[int] = []
    part = ganforge.train(**settings, kimg=0.016, should_stop=lambda: polls.append(1) or len(polls) > 2)
    assert part.status == "stopped" and part.steps == 2
    shutil.rmtree(tmp_path / "px")
    resumed = ganforge.train(resume=tmp_path / "gan", kimg=0.016)
    assert resumed.status == "finished" and resumed.steps == full.steps == 4
    w_full, _ = load_checkpoint(full.checkpoint)
    w_res, _ = load_checkpoint(resumed.checkpoint)
    for net in w_full:
        assert all(torch.equal(w_full[net][k], w_res[net][k]) for k in w_full[net]), net
    with pytest.raises(ConfigError, match="no such run or exported model"):  # a fresh run still needs it
        ganforge.train(**dict(settings, name="again"), kimg=0.016, dry_run=True)


def test_perceptual_weight_adds_the_inception_term_in_the_adversarial_phase_only(tmp_path):
    root = write_sr_folder(tmp_path / "imgs")
    settings = dict(TINY_SR, resolution=20, data=str(root), perceptual_weight=1.0, pretrain_kimg=0.008)
    ganforge.train(**settings, kimg=0.024, out=str(tmp_path), name="pc")
    rows = _rows(tmp_path / "pc")
    assert all(("Loss/G/perceptual" in r) == (r["Phase/adversarial"] > 0.0) for r in rows)
    assert rows[-1]["Phase/adversarial"] == 1.0 and rows[-1]["Loss/G/perceptual"] > 0.0
    assert TrainConfig(task="superres", resolution=64).validate().perceptual_weight == 1.0  # ESRGAN's weight
    assert TrainConfig(**TINY_SR).validate().perceptual_weight == 0.0  # off for crops the stem cannot take
    with pytest.raises(ConfigError, match="at least 20"):
        TrainConfig(**dict(TINY_SR, perceptual_weight=1.0)).validate()
    with pytest.raises(ConfigError, match="applies to encoder, pix2pix and superres"):
        TrainConfig(task="cyclegan", perceptual_weight=1.0).validate()
