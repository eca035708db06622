"""The image gradient difference loss (Mathieu et al.) and L2: closed forms, zero for identical inputs."""

from __future__ import annotations

import pytest
import torch

from ganforge.losses.reconstruction import gradient_difference_loss, l2_loss


def test_gdl_is_zero_for_identical_inputs_of_any_leading_shape():
    x = torch.randn(2, 5, 3, 8, 8)  # clips [N, T, C, H, W]
    assert gradient_difference_loss(x, x.clone()).item() == 0.0
    assert gradient_difference_loss(x + 3.0, x).item() == pytest.approx(0.0, abs=1e-6)  # a shift keeps gradients


def test_gdl_closed_form_and_blur_pays():
    target = torch.zeros(1, 1, 2, 3)
    target[..., :, 2] = 1.0  # a vertical edge: |dx| = 1 between columns 1 and 2, no vertical gradient
    flat = torch.full_like(target, 0.5)
    # dx: 2 rows x 2 column pairs, target strengths (0, 1) against 0; dy: 1 x 3 pairs, all 0 -> mean 0.
    assert gradient_difference_loss(flat, target).item() == pytest.approx(0.5)
    assert gradient_difference_loss(flat, target, alpha=2.0).item() == pytest.approx(0.5)
    blurred = torch.tensor([[[[0.0, 0.5, 1.0], [0.0, 0.5, 1.0]]]])  # same endpoints, the edge spread out
    assert gradient_difference_loss(blurred, target).item() == pytest.approx(0.5)
    assert gradient_difference_loss(target, target).item() == 0.0


def test_l2_and_shape_errors():
    a, b = torch.zeros(2, 4, 4), torch.full((2, 4, 4), 0.5)
    assert l2_loss(a, b).item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="same shape"):
        gradient_difference_loss(a, torch.zeros(2, 4, 5))
    with pytest.raises(ValueError, match="H, W >= 2"):
        gradient_difference_loss(torch.zeros(3, 1), torch.zeros(3, 1))
