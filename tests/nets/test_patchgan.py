"""PatchGAN and multi-scale discriminators: logit-map shapes, the 70x70 receptive field, features, spectral norm."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.losses.adversarial import HingeLoss, LeastSquaresLoss, NonSaturatingLoss
from ganforge.nets.patchgan import (
    MultiScaleDiscriminator,
    PatchGANDiscriminator,
    patchgan_receptive_field,
    receptive_field,
)


def test_receptive_field_is_70_for_three_layers():
    assert patchgan_receptive_field(3) == 70
    assert [patchgan_receptive_field(n) for n in (1, 2, 4)] == [16, 34, 142]
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert PatchGANDiscriminator(width=4).receptive_field == 70


def test_receptive_field_matches_the_gradient_support():
    torch.manual_seed(0)
    D = PatchGANDiscriminator(in_channels=1, width=4, d_layers=2, norm="none")
    x = torch.randn(1, 1, 96, 96, requires_grad=True)
    out = D(x)
    i, j = out.shape[2] // 2, out.shape[3] // 2  # a unit away from the padded borders
    out[0, 0, i, j].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    cols = x.grad[0, 0].abs().sum(0).nonzero()
    assert rows.max() - rows.min() + 1 == D.receptive_field == 34
    assert cols.max() - cols.min() + 1 == 34


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_logit_map_shape_scales_with_the_input(norm):
    torch.manual_seed(0)
    D = PatchGANDiscriminator(in_channels=6, width=4, norm=norm)
    assert D(torch.randn(2, 6, 32, 32)).shape == (2, 1, 2, 2)
    assert D(torch.randn(2, 6, 64, 96)).shape == (2, 1, 6, 10)  # h = H / 8 - 2
    assert D(torch.randn(1, 6, 24, 24)).shape == (1, 1, 1, 1)  # the smallest input


def test_too_small_input_is_a_clear_error():
    D = PatchGANDiscriminator(in_channels=3, width=4)
    with pytest.raises(ValueError, match="d_layers=3 needs inputs of at least 24x24, got 16x32"):
        D(torch.randn(1, 3, 16, 32))
    with pytest.raises(ConfigError, match="got 0"):
        PatchGANDiscriminator(d_layers=0)


def test_features_and_existing_losses_on_logit_maps():
    torch.manual_seed(0)
    D = PatchGANDiscriminator(in_channels=3, width=4, max_channels=8)
    logits, features = D(torch.randn(2, 3, 32, 32), return_features=True)
    assert [f.shape[1:] for f in features] == [(4, 16, 16), (8, 8, 8), (8, 4, 4), (8, 3, 3)]
    for loss in (NonSaturatingLoss(), LeastSquaresLoss(), HingeLoss()):  # averaged over the map like a batch
        assert torch.allclose(loss.d_loss(logits, logits), loss.d_loss(logits.flatten(), logits.flatten()))
        assert loss.g_loss(logits).ndim == 0


def test_spectral_norm_bounds_each_layer_and_survives_state_dict():
    torch.manual_seed(0)
    D = PatchGANDiscriminator(in_channels=3, width=4, norm="none", spectral=True)
    x = torch.randn(2, 3, 32, 32)
    for _ in range(5):  # power iterations run in train mode
        D(x)
    for conv in [b[0] for b in D.blocks] + [D.head]:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
    copy = PatchGANDiscriminator(in_channels=3, width=4, norm="none", spectral=True)
    copy.load_state_dict(D.state_dict())
    assert torch.equal(copy.eval()(x), D.eval()(x))


def test_multiscale_outputs_features_and_size_check():
    torch.manual_seed(0)
    D = MultiScaleDiscriminator(in_channels=4, num_d=3, width=4, d_layers=2)
    logits, features = D(torch.randn(2, 4, 64, 48), return_features=True)
    assert [tuple(t.shape[2:]) for t in logits] == [(14, 10), (6, 4), (2, 1)]
    assert len(features) == 3 and all(len(f) == 3 for f in features)
    assert isinstance(D(torch.randn(1, 4, 64, 64)), list)
    assert D.min_size == 45  # 12 px after two poolings
    D(torch.randn(1, 4, 45, 45))
    with pytest.raises(ValueError, match="3-scale discriminator needs inputs of at least 45x45, got 44x64"):
        D(torch.randn(1, 4, 44, 64))
