"""Task nextframe: both losses train on the one trainer (L2 falls), adv builds and steps a clip discriminator,
resume is exact, grids show true and predicted rows, and bad options are one-line config errors."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from tests.nextframe_helpers import TINY_NF, write_video_folder

import ganforge
from ganforge.config import TrainConfig
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.errors import ConfigError


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_mse_run_lowers_l2_without_a_discriminator(tmp_path):
    clips = write_video_folder(tmp_path / "videos")
    result = ganforge.train(**TINY_NF, data=str(clips), loss="mse", lr_g=3e-3, kimg=0.096, out=str(tmp_path),
                            name="mse")
    rows = _rows(tmp_path / "mse")
    l2 = [r["Loss/G/l2"] for r in rows]
    assert sum(l2[-3:]) / 3 < 0.75 * sum(l2[:3]) / 3, l2
    assert all("Loss/D/adv" not in r and "Loss/G/gdl" not in r for r in rows)
    weights, _ = load_checkpoint(result.checkpoint)
    assert set(weights) == {"G"}
    config = json.loads((tmp_path / "mse" / "config.json").read_text())
    assert (config["loss"], config["adv_weight"], config["gdl_weight"]) == ("mse", 0.0, 0.0)
    assert (config["clip_frames"], config["context_frames"], "augment" in config) == (4, 2, False)
    # Grid: per clip a true row and a predicted row of 1 + m = 3 frames.
    assert Image.open(result.last_grid).size[0] == 2 + 3 * (16 + 2)


def test_adv_run_trains_a_clip_discriminator_and_resumes_exactly(tmp_path):
    clips = write_video_folder(tmp_path / "videos")
    settings = dict(TINY_NF, data=str(clips), loss="adv", ema_kimg=0.01, out=str(tmp_path))
    full = ganforge.train(**settings, kimg=0.024, name="full")
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    part = ganforge.train(**settings, kimg=0.024, name="split", should_stop=stop)
    assert part.status == "stopped" and part.steps == 2
    resumed = ganforge.train(resume=tmp_path / "split", kimg=0.024)
    assert resumed.steps == full.steps == 6
    w_full, _ = load_checkpoint(full.checkpoint)
    w_res, _ = load_checkpoint(resumed.checkpoint)
    assert set(w_full) == {"G", "D", "G_ema"}
    for net in w_full:
        assert all(torch.equal(w_full[net][k], w_res[net][k]) for k in w_full[net]), net
    row = _rows(tmp_path / "full")[-1]
    assert {"Loss/G/l2", "Loss/G/gdl", "Loss/G/adv", "Loss/D/adv", "D/real", "D/fake"} <= set(row)
    config = json.loads((tmp_path / "full" / "config.json").read_text())
    assert (config["adv_weight"], config["gdl_weight"], config["model"]) == (0.05, 1.0, "simvp")


def test_pretrain_kimg_trains_l2_alone_first_and_resumes_exactly(tmp_path):
    clips = write_video_folder(tmp_path / "videos")
    settings = dict(TINY_NF, data=str(clips), loss="adv", pretrain_kimg=0.012, ema_kimg=0.01, out=str(tmp_path))
    full = ganforge.train(**settings, kimg=0.024, name="full")
    rows = _rows(tmp_path / "full")
    first, last = rows[0], rows[-1]  # one row per step at this size: pre-training, then the adversarial phase
    assert first["Phase/adversarial"] == 0.0 and not {"Loss/G/gdl", "Loss/D/adv"} & set(first)
    assert last["Phase/adversarial"] == 1.0 and {"Loss/G/gdl", "Loss/G/adv", "Loss/D/adv"} <= set(last)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    ganforge.train(**settings, kimg=0.024, name="split", should_stop=stop)
    resumed = ganforge.train(resume=tmp_path / "split", kimg=0.024)
    w_full, _ = load_checkpoint(full.checkpoint)
    w_res, _ = load_checkpoint(resumed.checkpoint)
    for net in w_full:
        assert all(torch.equal(w_full[net][k], w_res[net][k]) for k in w_full[net]), net
    config = json.loads((tmp_path / "full" / "config.json").read_text())
    assert config["pretrain_kimg"] == 0.012


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(loss="hinge"), r"nextframe takes --loss mse \(the L2 baseline\) or adv .* got 'hinge'"),
        (dict(loss="mse", gdl_weight=1.0), "--gdl-weight applies to --loss adv"),
        (dict(loss="mse", pretrain_kimg=5.0), "--pretrain-kimg applies to --loss adv"),
        (dict(clip_frames=10, context_frames=10), "--clip-frames 10 must exceed --context-frames 10"),
        (dict(frames=10, context_frames=10), "--clip-frames 10 must exceed"),  # the field's old name still works
        (dict(resolution=30), "a multiple of 4 and at least 8"),
        (dict(augment="diffaug"), "--augment applies to image and text2image, not to task 'nextframe'"),
        (dict(r1_gamma=1.0), "--r1-gamma applies to image, not to task 'nextframe'"),
        (dict(eval_every_kimg=1.0), "--eval-every applies to image, not to task 'nextframe'"),
    ],
)
def test_bad_options_are_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**dict(dict(task="nextframe", data="moving-mnist", resolution=32), **changes)).validate()


def test_options_of_nextframe_are_errors_elsewhere():
    with pytest.raises(ConfigError, match="--gdl-weight applies to nextframe, not to task 'image'"):
        TrainConfig(task="image", gdl_weight=1.0).validate()
    with pytest.raises(ConfigError, match="--context-frames applies to nextframe, not to task 'pix2pix'"):
        TrainConfig(task="pix2pix", context_frames=3).validate()


def test_defaults_follow_the_moving_mnist_protocol():
    config = TrainConfig(task="nextframe", data="moving-mnist", resolution=64).validate()
    assert (config.clip_frames, config.context_frames, config.model, config.loss, config.width) == (20, 10, "simvp", "adv", 32)
    saved = TrainConfig.from_dict(config.to_dict()).validate()  # a resolved config validates again
    assert saved == config
    mse = TrainConfig(task="nextframe", data="moving-mnist", resolution=64, loss="mse").validate()
    assert TrainConfig.from_dict(mse.to_dict()).validate() == mse
