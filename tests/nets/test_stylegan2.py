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


def _noisy_generator(seed: int = 3) -> StyleGAN2Generator:
    """A small generator whose noise inputs matter (their strengths start at zero, as in the paper)."""
    torch.manual_seed(seed)
    G = StyleGAN2Generator(8, channels=3, mapping_layers=2, **SMALL)
    for name, p in G.named_parameters():
        if name.endswith("noise_strength"):
            p.data.fill_(1.0)
    return G.eval()


def test_const_noise_is_a_fixed_buffer_saved_with_the_weights():
    # StyleGAN2-ADA's const mode adds fixed per-layer noise (registered buffers), not none at all.
    G = _noisy_generator()
    z = torch.randn(3, 16)
    const, none = G(z, noise_mode="const"), G(z, noise_mode="none")
    assert not torch.allclose(const, none)
    assert torch.equal(G(z), const)  # eval mode's default is const: deterministic
    assert torch.allclose(G(z[:1]), const[:1], atol=1e-5)  # the same noise whatever the batch
    noise_keys = [k for k in G.state_dict() if k.endswith("noise_const")]
    assert len(noise_keys) == 1 + 2 * len(G.blocks)
    assert G.state_dict()["conv4.noise_const"].shape == (4, 4)
    random_a, random_b = G(z, noise_mode="random"), G(z, noise_mode="random")
    assert not torch.allclose(random_a, random_b) and not torch.allclose(random_a, const)
    with pytest.raises(ValueError, match="noise_mode must be one of random, const, none, got 'fixed'"):
        G(z, noise_mode="fixed")


def test_noise_buffers_follow_the_seed_and_leave_the_weights_alone():
    # Drawn from their own generator, so the weights (and D's, built after G) are what they were for a seed.
    torch.manual_seed(5)
    a = StyleGAN2Generator(8, channels=3, mapping_layers=2, **SMALL)
    after_a = torch.randn(4)
    torch.manual_seed(5)
    b = StyleGAN2Generator(8, channels=3, mapping_layers=2, **SMALL)
    torch.manual_seed(6)
    c = StyleGAN2Generator(8, channels=3, mapping_layers=2, **SMALL)
    torch.manual_seed(5)
    for name, p in StyleGAN2Generator(8, channels=3, mapping_layers=2, **SMALL).named_parameters():
        assert torch.equal(p, dict(a.named_parameters())[name])
    assert torch.equal(torch.randn(4), after_a)  # the global stream moved only by the weights
    assert torch.equal(a.conv4.noise_const, b.conv4.noise_const)
    assert not torch.equal(a.conv4.noise_const, c.conv4.noise_const)
    assert not torch.equal(a.blocks[0][0].noise_const, a.blocks[0][1].noise_const)


def test_old_weights_without_noise_buffers_still_load():
    # Files written before the buffers existed: the missing noise is filled with zeros, which is what const mode
    # added then, so an old model draws the images it always drew.
    G = _noisy_generator()
    old = {k: v for k, v in G.state_dict().items() if not k.endswith("noise_const")}
    H = StyleGAN2Generator(8, channels=3, mapping_layers=2, **SMALL).eval()
    H.load_state_dict(old)  # strict
    z = torch.randn(2, 16)
    assert torch.equal(H(z), G(z, noise_mode="none"))
    assert all(torch.count_nonzero(b) == 0 for k, b in H.named_buffers() if k.endswith("noise_const"))
    with pytest.raises(RuntimeError, match="Unexpected key"):  # other mismatches are still errors
        H.load_state_dict(dict(old, extra=torch.zeros(1)))
