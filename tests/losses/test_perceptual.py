"""The Inception-stem perceptual loss: zero on equal images, larger the more detail is lost, gradients to the output."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganforge.losses.perceptual import InceptionPerceptualLoss


@pytest.fixture(scope="module")
def perceptual() -> InceptionPerceptualLoss:
    return InceptionPerceptualLoss()


def test_zero_on_equal_images_and_grows_with_blur(perceptual):
    target = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    light = F.avg_pool2d(target, 3, 1, 1, count_include_pad=False)
    heavy = F.avg_pool2d(target, 7, 1, 3, count_include_pad=False)
    assert perceptual(target, target).item() == 0.0
    assert 0.0 < perceptual(light, target).item() < perceptual(heavy, target).item()


def test_gradient_reaches_the_output_and_not_the_frozen_stem(perceptual):
    target = torch.rand(2, 1, 24, 24) * 2 - 1  # grayscale is repeated to the stem's 3 channels
    output = torch.zeros_like(target, requires_grad=True)
    perceptual.train()  # stays in eval: the stem's batch norm keeps its ImageNet statistics
    perceptual(output, target).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0
    assert not perceptual.training and not any(p.requires_grad for p in perceptual.parameters())
    assert all(p.grad is None for p in perceptual.parameters())


def test_too_small_an_image_is_a_clear_error(perceptual):
    with pytest.raises(ValueError, match="at least 20 px"):
        perceptual(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))


def _parity_bias(perceptual) -> float:
    """Spread of the mean gradient over the four pixel parities, against its mean size, for a flat output."""
    output = torch.zeros(1, 3, 48, 48, requires_grad=True)
    perceptual(output, torch.full_like(output, 0.2)).backward()
    g = output.grad[0, :, 8:40, 8:40]
    means = torch.stack([g[:, a::2, b::2].mean() for a in (0, 1) for b in (0, 1)])
    return ((means.max() - means.min()) / g.abs().mean()).item()


def test_shift_averaging_removes_the_stride_two_dither_from_the_gradient(perceptual, monkeypatch):
    assert _parity_bias(perceptual) < 0.15
    monkeypatch.setattr("ganforge.losses.perceptual.SHIFTS", ((0, 0),))
    assert _parity_bias(perceptual) > 0.3  # one phase alone pushes every other pixel its own way
