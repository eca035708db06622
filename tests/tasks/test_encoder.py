"""Task encoder: an encoder into a frozen StyleGAN2's W+ trains on the train split (its loss falls, resume is
exact, the generator is never changed), inverts in one pass, and refuses what it cannot take in one line."""

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
from ganforge.data.split import resolve_split_images
from ganforge.editing.encoder import load_encoder
from ganforge.editing.inversion import invert
from ganforge.errors import ConfigError, GanforgeError
from ganforge.nets.encoder import StyleEncoder
from ganforge.registry import TASKS

SG2 = dict(task="image", model="stylegan2", data="digits", resolution=16, batch=8, width=8, z_dim=16, tick_kimg=0.008,
           sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0, augment="none", kimg=0.064)
ENC = dict(task="encoder", data="digits", resolution=16, batch=8, width=4, tick_kimg=0.016, sample_every_kimg=1.0,
           checkpoint_every_kimg=1.0, grid_size=4)


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ganforge.train(out=str(tmp_path_factory.mktemp("enc")), name="sg2", **SG2).run_dir


@pytest.fixture(scope="module")
def encoder_run(generator: Path) -> Path:
    # pixels and latents only: the perceptual term (on in the other runs here) would make this run several times longer
    return ganforge.train(generator=str(generator), kimg=0.384, perceptual_weight=0.0, out=str(generator.parent),
                          name="enc", **ENC).run_dir


def test_the_network_starts_at_the_average_w() -> None:
    e = StyleEncoder(resolution=16, channels=1, w_dim=8, channel_base=64, channel_max=16)
    e.w_avg.fill_(0.5)
    ws = e(torch.randn(3, 1, 16, 16))
    assert ws.shape == (3, 8, 8) and e.num_ws == 8  # 2 at 4 px + 3 at 8 + 3 at 16, as StyleGAN2's
    assert torch.allclose(ws, torch.full_like(ws, 0.5))


def test_training_lowers_the_loss_and_leaves_the_generator_alone(generator: Path, encoder_run: Path) -> None:
    losses = [r["Loss/E/pixel"] for r in rows(encoder_run)]  # (the latent term is noisy at 4 samples a step)
    assert np.mean(losses[-6:]) < 0.7 * np.mean(losses[:3])
    cfg = json.loads((encoder_run / "config.json").read_text())
    assert cfg["generator"] == str(generator)
    count = len(resolve_split_images("digits", 16, split="train")[1])
    data = json.loads((encoder_run / "data.json").read_text())
    assert data["count"] == count < len(resolve_split_images("digits", 16, split="all")[1])  # the test split unseen


def test_encoder_inversion_in_one_pass_and_refined(generator: Path, encoder_run: Path) -> None:
    pipe, encoder = ganforge.load(generator), load_encoder(encoder_run)
    target = resolve_split_images("digits", 16, split="test")[1][0]
    start = invert(pipe, target, steps=1, perceptual_weight=0.0)  # optimisation's first step, from the average w
    fast = invert(pipe, target, steps=0, method="encoder", encoder=encoder, perceptual_weight=0.0)
    refined = invert(pipe, target, steps=20, method="encoder", encoder=encoder, perceptual_weight=0.0)
    assert len(fast.losses) == 1 and fast.losses[0] < start.losses[0]
    assert refined.losses[-1] < fast.losses[0]
    ws = encoder.encode(np.stack([target, target]))
    assert ws.shape == (2, pipe.generator.num_ws, pipe.generator.w_dim) and torch.equal(ws[0], ws[1])
    with pytest.raises(GanforgeError, match="not on this model"):
        invert(ganforge.load("zoo:mnist-32"), target, steps=0, method="encoder", encoder=encoder)
    with pytest.raises(GanforgeError, match="not an encoder"):
        load_encoder(generator)


def test_resume_is_exact(generator: Path, tmp_path: Path) -> None:
    ganforge.train(generator=str(generator), kimg=0.032, out=str(tmp_path), name="straight", **ENC)
    ganforge.train(generator=str(generator), kimg=0.016, out=str(tmp_path), name="split", **ENC)
    assert ganforge.train(resume=tmp_path / "split", kimg=0.032).steps == 4
    a, b = (sorted((tmp_path / name / "checkpoints").glob("kimg-*"))[-1] for name in ("straight", "split"))
    for net in ("E", "E_ema"):
        sa, sb = load_file(str(a / f"{net}.safetensors")), load_file(str(b / f"{net}.safetensors"))
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), net


def test_one_line_errors(generator: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--generator"):
        TrainConfig(task="encoder", data="digits").validate()
    cfg = TrainConfig(task="encoder", data="digits", resolution=32, generator=str(generator)).validate()
    data = TASKS.get("encoder").load_data(cfg)
    with pytest.raises(ConfigError, match="--resolution 16"):
        TASKS.get("encoder")(cfg, data.info)
    cfg = TrainConfig(task="encoder", data="digits", resolution=32, generator="zoo:mnist-32").validate()
    with pytest.raises(ConfigError, match="not a StyleGAN2"):
        TASKS.get("encoder")(cfg, data.info)
    assert main(["train", "encoder", "--generator", str(tmp_path / "nothing"), "--data", "digits",
                 "--resolution", "16", "--runs-dir", str(tmp_path)]) != 0


def test_eval_scores_held_out_images(encoder_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", str(encoder_run), "--eval-n", "6", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "encoder" and result["n"] == 6 and result["split"] == "test"
    model = result["model"]
    assert 5 < model["psnr"] < 60 and -1 <= model["ssim"] <= 1 and model["inception_cosine"] >= 0
    assert model["ms_per_image"] > 0


def test_boundaries_from_encoded_real_images(tmp_path: Path) -> None:
    from ganforge.editing.directions import encoded_latents, fit_boundary

    colour = {**SG2, "data": "emoji", "kimg": 0.032}
    g = ganforge.train(out=str(tmp_path), name="sg2", **colour).run_dir
    e = ganforge.train(generator=str(g), out=str(tmp_path), name="enc", **{**ENC, "data": "emoji", "kimg": 0.032})
    pipe, encoder = ganforge.load(g), load_encoder(e.run_dir)
    latents, images = encoded_latents(encoder, pipe, 300, seed=0)
    assert latents.shape == (300, pipe.generator.w_dim) and images.shape == (300, 16, 16, 3)
    boundary = fit_boundary(pipe, "category:flags", samples=300, encoder=encoder)  # real flags: plenty of them
    assert min(boundary.counts) >= 10 and abs(float(boundary.normal.norm()) - 1) < 1e-5
    with pytest.raises(GanforgeError, match="not on this model"):
        fit_boundary(ganforge.load("zoo:emoji-32"), "category:flags", samples=300, encoder=encoder)
    source = tmp_path / "emoji.png"
    Image.fromarray(images[0]).save(source)
    assert main(["invert", str(g), str(source), "--method", "encoder", "--encoder", str(e.run_dir), "--steps", "0",
                 "--out", str(tmp_path / "w.safetensors")]) == 0
    assert main(["edit", str(g), str(source), "--encoder", str(e.run_dir), "--direction", "category:flags",
                 "--samples", "300", "--steps", "2", "--out", str(tmp_path / "flag.png")]) == 0
    assert main(["edit", "zoo:emoji-32", str(source), "--encoder", str(e.run_dir), "--direction", "sefa:0",
                 "--out", str(tmp_path / "other.png")]) != 0  # the encoder belongs to another generator


def test_the_feature_residual_starts_at_zero_and_lands_on_the_generator_features() -> None:
    from ganforge.editing.inversion import draw_encoded
    from ganforge.nets.stylegan2 import StyleGAN2Generator

    g = StyleGAN2Generator(resolution=16, channels=1, z_dim=8, w_dim=8, channel_base=64, channel_max=16).eval()
    c8 = g.feature_channels(8)
    e = StyleEncoder(resolution=16, channels=1, w_dim=8, channel_base=64, channel_max=16, feature_res=8,
                     feature_channels=c8)
    ws, residual = e.encode(torch.randn(3, 1, 16, 16))
    assert residual.shape == (3, c8, 8, 8) and not residual.any()  # zero-started: the plain w+ encoder at first
    assert torch.equal(draw_encoded(g, ws, residual, 8), draw_encoded(g, ws, None, 8))
    assert not torch.allclose(draw_encoded(g, ws, residual + 1, 8), draw_encoded(g, ws, None, 8))
    with pytest.raises(ValueError, match="none of the generator"):
        g.synthesis(ws, "const", feature_residual=(6, residual))
    with pytest.raises(ValueError, match="feature_res"):
        StyleEncoder(resolution=16, channels=1, w_dim=8, feature_res=32, feature_channels=4)


def test_a_feature_encoder_reconstructs_closer_and_its_residual_travels_with_the_latent(
        generator: Path, encoder_run: Path, tmp_path: Path) -> None:
    from ganforge.editing.inversion import FeatureResidualGenerator, load_latent, save_latent

    run = ganforge.train(generator=str(generator), kimg=0.384, perceptual_weight=0.0, model="fse", feature_res=8,
                         out=str(tmp_path), name="fse", **ENC).run_dir
    assert "Loss/E/feature" in rows(run)[-1]
    pipe, plain, fse = ganforge.load(generator), load_encoder(encoder_run), load_encoder(run)
    targets = resolve_split_images("digits", 16, split="test")[1][:8]
    fast = [invert(pipe, t, steps=0, method="encoder", encoder=plain, perceptual_weight=0.0).losses[0] for t in targets]
    found = [invert(pipe, t, steps=0, method="encoder", encoder=fse, perceptual_weight=0.0) for t in targets]
    assert np.mean([f.losses[0] for f in found]) < np.mean(fast)  # the same training, plus the residual
    inversion = found[0]
    assert isinstance(inversion.generator, FeatureResidualGenerator)
    path = save_latent(inversion, pipe, tmp_path / "w.safetensors")
    assert set(load_file(str(path))) == {"latent", "feature_residual"}  # the residual, not a copy of the generator
    latent, space, g = load_latent(path, pipe)
    with torch.no_grad():
        again = g.synthesis(latent[None].float(), "const").clamp(-1, 1)
    from ganforge.imaging import tensor_to_uint8

    assert np.abs(tensor_to_uint8(again)[0].astype(int) - inversion.reconstruction.astype(int)).max() <= 1
    assert main(["edit", str(generator), "--latent", str(path), "--direction", "sefa:0", "--strength", "0",
                 "--out", str(tmp_path / "same.png")]) == 0  # an edit of strength 0 through the residual: the same
    edited = np.asarray(Image.open(tmp_path / "same.png"))
    assert np.abs(edited.astype(int).reshape(16, 16, -1)[..., 0] - inversion.reconstruction[..., 0]).mean() < 3
    assert main(["eval", str(run), "--eval-n", "4", "--json"]) == 0
    with pytest.raises(ConfigError, match="--feature-res"):
        TrainConfig(task="encoder", data="digits", resolution=16, generator=str(generator), model="fse",
                    feature_res=12).validate()
    with pytest.raises(ConfigError, match="got 16"):  # fse's 16 x 16 features, for an 8-px generator
        TrainConfig(task="encoder", data="digits", resolution=8, generator=str(generator), model="fse").validate()
