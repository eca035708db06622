"""Super-resolution generators (SRResNet, RRDB) and the relativistic average loss."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.losses.adversarial import RelativisticAverageLoss
from ganforge.nets.sr import RRDBNet, SRResNet


@pytest.mark.parametrize("cls", [SRResNet, RRDBNet])
@pytest.mark.parametrize("scale", [2, 4])
def test_generators_upscale_by_their_scale(cls, scale):
    torch.manual_seed(0)
    G = cls(channels=3, scale=scale, width=8, n_blocks=1)
    out = G(torch.randn(2, 3, 5, 7))
    assert out.shape == (2, 3, 5 * scale, 7 * scale) and torch.isfinite(out).all()
    grey = cls(channels=1, scale=scale, width=8, n_blocks=1)(torch.randn(1, 1, 4, 4))
    assert grey.shape == (1, 1, 4 * scale, 4 * scale)


def test_rrdb_has_no_batch_norm_and_scales_its_residuals():
    G = RRDBNet(channels=3, scale=4, width=8, n_blocks=2)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in G.modules())
    assert len(G.body) == 2 and len(G.body[0].blocks) == 3 and len(G.body[0].blocks[0].convs) == 5
    assert G.body[0].blocks[0].convs[0].out_channels == 4  # growth: width // 2


def test_srresnet_counts_blocks_and_starts_near_bilinear():
    G = SRResNet(channels=3, scale=2, width=8, n_blocks=16)
    assert len(G.body) == 16
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    bilinear = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert (G(x) - bilinear).abs().mean() < 0.1  # 0.1-scaled initialisation: a small residual on the skip


def test_bad_scale_is_a_clear_error():
    with pytest.raises(ConfigError, match="scale must be 2 or 4, got 3"):
        SRResNet(scale=3)
    with pytest.raises(ConfigError, match="got 3"):
        RRDBNet(scale=3)


def test_relativistic_average_loss_closed_form():
    loss = RelativisticAverageLoss()
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])  # means 2 and 1

    def sp(x: float) -> float:
        return math.log1p(math.exp(x))

    d = 0.5 * ((sp(-(1 - 1)) + sp(-(3 - 1))) / 2 + (sp(0 - 2) + sp(2 - 2)) / 2)
    g = 0.5 * ((sp(1 - 1) + sp(3 - 1)) / 2 + (sp(-(0 - 2)) + sp(-(2 - 2))) / 2)
    assert math.isclose(loss.d_loss(real, fake).item(), d, rel_tol=1e-6)
    assert math.isclose(loss.g_loss(fake, real).item(), g, rel_tol=1e-6)
    assert loss.relativistic and torch.equal(loss.real_signal(real, fake), real - 1.0)
    # G's loss reaches the fakes through both terms.
    f = fake.clone().requires_grad_(True)
    loss.g_loss(f, real).backward()
    assert f.grad is not None and f.grad.abs().sum() > 0
