"""The twice-differentiable warp behind ADA: the same values and first and second derivatives as
PyTorch's grid sampler (whose CPU kernel has a second derivative; its CUDA kernel has none)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganforge.augment.grid_sample import warp


def _grid(n: int, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    theta = torch.eye(3)[None].repeat(n, 1, 1)[:, :2] + 0.3 * torch.randn(n, 2, 3, generator=g)
    return F.affine_grid(theta, [n, 2, size, size], align_corners=False).double()


def _reference(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def test_matches_grid_sample_in_value_gradient_and_r1_style_second_derivative():
    grid = _grid(3, 7, seed=0)
    weight = torch.randn(2, 2, 3, 3, dtype=torch.float64)

    def r1(sample) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(3, 2, 7, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_()
        w = weight.clone().requires_grad_()
        score = F.conv2d(sample(x, grid), w).tanh().sum()  # a stand-in for D on augmented reals
        (grad_x,) = torch.autograd.grad(score, x, create_graph=True)
        penalty = grad_x.square().sum()
        (grad_w,) = torch.autograd.grad(penalty, w)
        return grad_x.detach(), grad_w

    x = torch.randn(3, 2, 7, 7, dtype=torch.float64)
    torch.testing.assert_close(warp(x, grid), _reference(x, grid))
    ours, theirs = r1(warp), r1(_reference)
    torch.testing.assert_close(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1])


def test_gradcheck_and_gradgradcheck():
    grid = _grid(2, 5, seed=2)
    x = torch.randn(2, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: warp(t, grid), (x,))
    assert torch.autograd.gradgradcheck(lambda t: warp(t, grid), (x,))


def test_a_grid_that_requires_a_gradient_is_refused():
    grid = _grid(1, 4, seed=3).requires_grad_()
    with pytest.raises(ValueError, match="must not require a gradient"):
        warp(torch.randn(1, 1, 4, 4, dtype=torch.float64), grid)
