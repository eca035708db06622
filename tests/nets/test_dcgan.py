"""DCGAN networks: shapes at every supported size, value range, conditioning, clear size errors."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator


@pytest.mark.parametrize("resolution", [16, 32, 64, 128])
def test_shapes_and_range(resolution):
    torch.manual_seed(0)
    G = DCGANGenerator(resolution, channels=3, z_dim=8, width=4)
    D = DCGANDiscriminator(resolution, channels=3, width=4)
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 3, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (2,)


def test_channel_cap_and_width():
    G = DCGANGenerator(64, width=64)
    assert G.stem.out_channels == 512 and G.to_rgb.in_channels == 64


@pytest.mark.parametrize("resolution", [8, 24, 256])
def test_unsupported_resolution_is_a_clear_error(resolution):
    with pytest.raises(ConfigError, match=f"dcgan needs --resolution 16, 32, 64 or 128, got {resolution}"):
        DCGANGenerator(resolution)


def test_conditioning_changes_outputs():
    torch.manual_seed(0)
    G = DCGANGenerator(16, channels=1, z_dim=8, width=4, num_classes=3).eval()
    D = DCGANDiscriminator(16, channels=1, width=4, num_classes=3)
    torch.nn.init.normal_(G.stem_norm.norm.gain.weight, 1.0, 0.5)
    z = torch.randn(1, 8).repeat(2, 1)
    out = G(z, torch.tensor([0, 2]))
    assert not torch.allclose(out[0], out[1])
    x = torch.randn(1, 1, 16, 16).repeat(2, 1, 1, 1)
    torch.nn.init.normal_(D.embed.weight)
    D.eval()
    logits = D(x, torch.tensor([0, 1]))
    assert logits[0] != logits[1]


def test_discriminator_without_norm_for_wgan_gp():
    D = DCGANDiscriminator(16, channels=1, width=4, norm="none")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
