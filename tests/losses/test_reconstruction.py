"""Reconstruction losses: closed forms, zero for identity generators and identical features, shape errors."""

from __future__ import annotations

import pytest
import torch

from ganforge.losses.reconstruction import cycle_loss, feature_matching_loss, identity_loss, l1_loss
from ganforge.nets.patchgan import MultiScaleDiscriminator, PatchGANDiscriminator


def test_l1_closed_form_and_shape_error():
    a, b = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)
    b[0, 0, 0, 0] = 2.5
    assert l1_loss(a, b).item() == pytest.approx((95 * 0.5 + 2.5) / 96)
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3, 4, 4\) and \(2, 1, 4, 4\)"):
        l1_loss(a, torch.zeros(2, 1, 4, 4))


def test_cycle_and_identity_losses_are_zero_for_identity_generators():
    G_ab, G_ba = torch.nn.Identity(), torch.nn.Identity()
    real_a, real_b = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    assert cycle_loss(real_a, G_ba(fake_b)).item() == 0.0
    assert cycle_loss(real_b, G_ab(fake_a)).item() == 0.0
    assert identity_loss(real_b, G_ab(real_b)).item() == 0.0
    assert identity_loss(real_a, G_ba(real_a)).item() == 0.0


def test_cycle_loss_reaches_both_generators():
    torch.manual_seed(0)
    G_ab, G_ba = torch.nn.Conv2d(3, 3, 1), torch.nn.Conv2d(3, 3, 1)
    real_a = torch.randn(2, 3, 4, 4)
    loss = cycle_loss(real_a, G_ba(G_ab(real_a)))
    assert loss.item() > 0
    loss.backward()
    assert G_ab.weight.grad.abs().sum() > 0 and G_ba.weight.grad.abs().sum() > 0


def test_feature_matching_is_zero_for_identical_inputs_and_detaches_real():
    torch.manual_seed(0)
    D = MultiScaleDiscriminator(in_channels=3, num_d=2, width=4, d_layers=2, norm="none")
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    _, feats = D(x, return_features=True)
    assert feature_matching_loss(feats, feats).item() == 0.0
    fake = torch.randn(2, 3, 32, 32, requires_grad=True)
    _, fake_feats = D(fake, return_features=True)
    loss = feature_matching_loss(feats, fake_feats)
    assert loss.item() > 0
    loss.backward()
    assert x.grad is None and fake.grad is not None  # only G's side gets gradients


def test_feature_matching_closed_form_single_discriminator():
    real = [torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 2, 2)]
    fake = [torch.ones(1, 2, 4, 4), torch.full((1, 4, 2, 2), 3.0)]
    assert feature_matching_loss(real, fake).item() == 2.0  # mean of the per-layer means 1 and 3
    assert feature_matching_loss([real], [fake]).item() == 2.0  # the same as a one-scale list


def test_feature_matching_layer_mismatch_is_a_clear_error():
    D2 = PatchGANDiscriminator(in_channels=3, width=4, d_layers=2)
    D3 = PatchGANDiscriminator(in_channels=3, width=4, d_layers=3)
    x = torch.randn(1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"got \[3\] and \[4\] layers"):
        feature_matching_loss(D2(x, return_features=True)[1], D3(x, return_features=True)[1])
