"""Adversarial losses and regularisers against closed forms."""

from __future__ import annotations

import math

import torch

from ganforge.losses.adversarial import (
    HingeLoss,
    LeastSquaresLoss,
    NonSaturatingLoss,
    RelativisticPairingLoss,
    WassersteinLoss,
)
from ganforge.losses.regularizers import (
    gradient_penalty,
    path_length_penalty,
    r1_penalty,
    r2_penalty,
    zero_centered_from_logits,
)


def test_loss_values_at_known_points():
    zero = torch.zeros(4)
    assert math.isclose(NonSaturatingLoss().d_loss(zero, zero).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(NonSaturatingLoss().g_loss(zero).item(), math.log(2), rel_tol=1e-6)
    assert HingeLoss().d_loss(torch.full((4,), 2.0), torch.full((4,), -2.0)).item() == 0.0
    assert HingeLoss().d_loss(zero, zero).item() == 2.0
    assert LeastSquaresLoss().d_loss(torch.ones(4), zero).item() == 0.0
    assert LeastSquaresLoss().d_loss(zero, zero).item() == 0.5  # D's sum halved
    assert LeastSquaresLoss().g_loss(zero).item() == 1.0  # G: MSE(D(G(z)), 1), not halved (pix2pix/CycleGAN code)
    assert LeastSquaresLoss().g_loss(torch.full((4,), 3.0)).item() == 4.0
    assert WassersteinLoss().d_loss(torch.full((4,), 3.0), torch.ones(4)).item() == -2.0
    rp = RelativisticPairingLoss()
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    # D: softplus(fake - real) per pair; G: softplus(real - fake).
    assert math.isclose(rp.d_loss(real, fake).item(), (math.log1p(math.exp(-2)) + math.log1p(math.e)) / 2, rel_tol=1e-6)
    assert math.isclose(rp.g_loss(fake, real).item(), (math.log1p(math.exp(2)) + math.log1p(math.exp(-1))) / 2, rel_tol=1e-6)
    assert torch.equal(rp.real_signal(real, fake), real - fake)  # only differences count for ADA


def _small_discriminator() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.Softplus(), torch.nn.Flatten(), torch.nn.Linear(4 * 3 * 3, 1)
    ).double()


def _finite_difference_grad_norms(d, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """||grad_x D(x)||^2 per image by central differences, one coordinate at a time."""
    flat = x.flatten(1)
    grads = torch.zeros_like(flat)
    with torch.no_grad():
        for j in range(flat.shape[1]):
            step = torch.zeros_like(flat)
            step[:, j] = eps
            grads[:, j] = (d((flat + step).view_as(x)) - d((flat - step).view_as(x))).squeeze(1) / (2 * eps)
    return grads.square().sum(1)


def test_r1_and_r2_match_finite_differences():
    d = _small_discriminator()
    real, fake = torch.randn(3, 2, 3, 3, dtype=torch.float64), torch.randn(3, 2, 3, 3, dtype=torch.float64)
    for penalty, images in ((r1_penalty, real), (r2_penalty, fake)):
        got = penalty(lambda x: d(x).squeeze(1), images)
        want = _finite_difference_grad_norms(d, images).mean()
        assert torch.allclose(got, want, rtol=1e-6), (got, want)
        got.backward()  # differentiable with respect to D's weights
    weight = d[0].weight.grad
    assert weight is not None and torch.isfinite(weight).all() and weight.abs().sum() > 0


def test_r1_from_the_loss_pass_logits_is_r1():
    # The penalty taken from logits D already gave for leaf images: the same value and weight gradient as r1_penalty.
    d = _small_discriminator()
    real = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    want = r1_penalty(lambda x: d(x).squeeze(1), real)
    (want_grad,) = torch.autograd.grad(want, d[0].weight)
    leaf = real.clone().requires_grad_(True)
    got = zero_centered_from_logits(d(leaf).squeeze(1), leaf)
    (got_grad,) = torch.autograd.grad(got, d[0].weight)
    assert torch.allclose(got, want, rtol=1e-12) and torch.allclose(got_grad, want_grad, rtol=1e-12)


def test_path_length_penalty_and_running_mean():
    torch.manual_seed(0)
    a = torch.randn(8, 16)
    ws = torch.randn(64, 3, 8, requires_grad=True)

    def synthesis(w: torch.Tensor) -> torch.Tensor:
        return torch.tanh(w.mean(1) @ a).view(-1, 1, 4, 4)

    penalty, new_mean = path_length_penalty(synthesis, ws, torch.zeros([]), decay=1.0)
    assert penalty.item() >= 0 and new_mean.item() > 0
    penalty.backward()
    assert ws.grad is not None  # the penalty reaches the mapping network through ws
    _, slow = path_length_penalty(synthesis, ws, torch.zeros([]), decay=0.01)
    assert math.isclose(slow.item(), 0.01 * new_mean.item(), rel_tol=0.2)


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
