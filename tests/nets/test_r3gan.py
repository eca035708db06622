"""R3GAN networks: shapes at small sizes, fix-up start (residual blocks begin as identities), conditioning."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets.r3gan import R3GANDiscriminator, R3GANGenerator, ResidualBlock, stage_channels

SMALL = dict(width=8, group_width=4, embed_dim=8)


@pytest.mark.parametrize("resolution", [8, 16, 32])
@pytest.mark.parametrize("num_classes", [0, 4])
def test_shapes(resolution, num_classes):
    torch.manual_seed(0)
    G = R3GANGenerator(resolution, channels=3, z_dim=16, num_classes=num_classes, **SMALL)
    D = R3GANDiscriminator(resolution, channels=3, num_classes=num_classes, **SMALL)
    y = torch.tensor([0, 1, 2, 3]) if num_classes else None
    x = G(torch.randn(4, 16), y)
    assert x.shape == (4, 3, resolution, resolution) and torch.isfinite(x).all()
    logits = D(x, y)
    assert logits.shape == (4,) and torch.isfinite(logits).all()


def test_channels_halve_beyond_16px():
    assert stage_channels(64, 8) == {4: 32, 8: 32, 16: 32, 32: 16, 64: 8}


def test_residual_blocks_start_as_identity():
    block = ResidualBlock(8, expansion=2, group_width=4, gain=0.5)
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(block(x), x)


def test_conditioning_changes_outputs():
    torch.manual_seed(0)
    G = R3GANGenerator(8, channels=1, z_dim=16, num_classes=3, **SMALL)
    z = torch.randn(1, 16).repeat(3, 1)
    x = G(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])


def test_bad_resolution():
    with pytest.raises(ConfigError, match="r3gan needs a power-of-two --resolution from 8 to 1024, got 24"):
        R3GANGenerator(24)


def test_r3gan_applies_r1_and_r2_every_step_by_default():
    # Huang et al. (2024) regularise every step; lazy regularisation is StyleGAN2's choice, not R3GAN's.
    from ganforge.config import TrainConfig

    cfg = TrainConfig(model="r3gan").validate()
    assert (cfg.r1_interval, cfg.r1_gamma, cfg.r2_gamma) == (1, 0.05, 0.05)
    assert TrainConfig(model="stylegan2").validate().r1_interval == 16
