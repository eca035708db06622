"""Adversarial losses and regularisers against closed forms."""

from __future__ import annotations

import math

import torch

from ganforge.losses.adversarial import HingeLoss, LeastSquaresLoss, NonSaturatingLoss, WassersteinLoss
from ganforge.losses.regularizers import gradient_penalty, r1_penalty


def test_loss_values_at_known_points():
    zero = torch.zeros(4)
    assert math.isclose(NonSaturatingLoss().d_loss(zero, zero).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(NonSaturatingLoss().g_loss(zero).item(), math.log(2), rel_tol=1e-6)
    assert HingeLoss().d_loss(torch.full((4,), 2.0), torch.full((4,), -2.0)).item() == 0.0
    assert HingeLoss().d_loss(zero, zero).item() == 2.0
    assert LeastSquaresLoss().d_loss(torch.ones(4), zero).item() == 0.0
    assert LeastSquaresLoss().g_loss(zero).item() == 0.5
    assert WassersteinLoss().d_loss(torch.full((4,), 3.0), torch.ones(4)).item() == -2.0


def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    w = torch.randn(1, 3, 4, 4)
    real = torch.randn(5, 3, 4, 4)
    penalty = r1_penalty(lambda x: (x * w).flatten(1).sum(1), real)
    assert torch.allclose(penalty, w.square().sum(), rtol=1e-5)


def test_gradient_penalty_is_zero_for_unit_gradient_and_differentiable():
    w = torch.zeros(1, 1, 2, 2)
    w[0, 0, 0, 0] = 1.0  # ||grad|| = 1 everywhere
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    assert gradient_penalty(lambda x: (x * w).flatten(1).sum(1), real, fake).item() < 1e-10
    scale = torch.tensor(3.0, requires_grad=True)
    gp = gradient_penalty(lambda x: scale * (x * w).flatten(1).sum(1), real, fake)
    assert math.isclose(gp.item(), 4.0, rel_tol=1e-5)
    gp.backward()
    assert scale.grad is not None and math.isclose(scale.grad.item(), 4.0, rel_tol=1e-5)
