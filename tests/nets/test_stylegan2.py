"""StyleGAN2: shapes at small sizes, modulated convolution against explicit per-sample weights,
truncation to the average image, conditioning, and a tiny training run."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tests.conftest import TINY

import ganforge
from ganforge.errors import ConfigError
from ganforge.nets.stylegan2 import (
    MinibatchStd,
    StyleGAN2Discriminator,
    StyleGAN2Generator,
    modulated_conv2d,
)

SMALL = dict(channel_base=256, channel_max=32, z_dim=16, w_dim=16)


@pytest.mark.parametrize("resolution", [8, 16, 32])
def test_shapes(resolution):
    torch.manual_seed(0)
    G = StyleGAN2Generator(resolution, channels=3, num_classes=4, mapping_layers=2, **SMALL)
    D = StyleGAN2Discriminator(resolution, channels=3, num_classes=4, channel_base=256, channel_max=32)
    y = torch.tensor([0, 1, 2, 3])
    x = G(torch.randn(4, 16), y)
    assert x.shape == (4, 3, resolution, resolution) and torch.isfinite(x).all()
    assert D(x, y).shape == (4,)
    assert G.num_ws == 2 + 3 * (resolution.bit_length() - 3)


def test_bad_resolution():
    with pytest.raises(ConfigError, match="stylegan2 needs a power-of-two --resolution from 8 to 1024, got 12"):
        StyleGAN2Generator(12)


def test_modulated_conv_matches_explicit_per_sample_weights():
    torch.manual_seed(1)
    x, weight, styles = torch.randn(3, 4, 6, 6), torch.randn(5, 4, 3, 3), torch.randn(3, 4)
    out = modulated_conv2d(x, weight, styles, demodulate=True)
    for i in range(3):
        w = weight * styles[i][None, :, None, None]
        w = w / (w.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        assert torch.allclose(out[i : i + 1], F.conv2d(x[i : i + 1], w, padding=1), atol=1e-5)
    plain = modulated_conv2d(x, weight, styles, demodulate=False)
    assert torch.allclose(plain[1:2], F.conv2d(x[1:2], weight * styles[1][None, :, None, None], padding=1), atol=1e-5)


def test_truncation_zero_gives_the_average_image():
    torch.manual_seed(2)
    G = StyleGAN2Generator(8, channels=3, mapping_layers=2, **SMALL)
    G.train()
    G(torch.randn(64, 16))  # moves w_avg away from zero
    G.eval()
    out = G(torch.randn(5, 16), truncation_psi=0.0)
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-6)
    assert not torch.allclose(G(torch.randn(2, 16))[0], G(torch.randn(2, 16))[1])


def test_minibatch_std_adds_one_channel():
    assert MinibatchStd(4)(torch.randn(8, 5, 4, 4)).shape == (8, 6, 4, 4)


def test_stylegan2_trains_and_samples_with_truncation(tmp_path):
    settings = dict(TINY, model="stylegan2", width=4, z_dim=16)
    result = ganforge.train(**settings, kimg=0.3, cond=True, out=str(tmp_path), name="sg2")
    assert result.status == "finished"
    pipe = ganforge.load(result.run_dir)
    a = pipe(seeds=[1, 2], class_label=3, output_type="pt", truncation=0.5)
    b = pipe(seeds=[1], class_label=3, output_type="pt", truncation=0.5)
    assert a.shape == (2, 1, 16, 16) and torch.allclose(a[:1], b, atol=1e-5)
    saved = __import__("json").loads((result.run_dir / "config.json").read_text())
    assert saved["lr_g"] == 2.5e-3 and saved["beta1"] == 0.0 and saved["r1_gamma"] == 0.05


def test_path_length_regularisation_trains_and_is_resumable_state(tmp_path):
    settings = dict(TINY, model="stylegan2", width=4, z_dim=16, pl_weight=2.0, pl_interval=2)
    result = ganforge.train(**settings, kimg=0.2, out=str(tmp_path), name="pl")
    lines = [__import__("json").loads(x) for x in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("Loss/G/pl" in line for line in lines)
    state = __import__("json").loads((result.checkpoint / "state.json").read_text())
    assert state["task_state"]["pl_mean"] > 0


def test_path_length_needs_a_mapping_network(tmp_path):
    with pytest.raises(ConfigError, match="--pl-weight needs a generator with a mapping network"):
        ganforge.train(**TINY, pl_weight=2.0, kimg=0.1, out=str(tmp_path), name="bad")
