"""The SimVP-style predictor: shapes for several context and horizon lengths, autoregressive rollout, batch
independence, and clear errors for inputs it cannot take."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets.simvp import SimVPPredictor


@pytest.mark.parametrize(("k", "m", "channels", "size"), [(1, 1, 1, 8), (2, 5, 3, 16), (5, 2, 1, 12), (10, 10, 1, 32)])
def test_shapes_for_several_context_and_horizon_lengths(k, m, channels, size):
    torch.manual_seed(0)
    net = SimVPPredictor(channels, k, m, size, width=4, n_blocks=1).eval()
    context = torch.rand(2, k, channels, size, size) * 2 - 1
    assert net(context).shape == (2, m, channels, size, size)
    for frames in (1, m, 2 * m + 1):
        assert net.rollout(context, frames).shape == (2, frames, channels, size, size)


def test_rollout_is_autoregressive_beyond_the_native_horizon():
    torch.manual_seed(0)
    k, m = 3, 2
    net = SimVPPredictor(1, k, m, 16, width=4, n_blocks=1).eval()
    context = torch.rand(2, k, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        first = net(context)
        second = net(torch.cat([context, first.clamp(-1, 1)], 1)[:, -k:])  # last k of observed + predicted
        rolled = net.rollout(context, 2 * m)
    assert torch.allclose(rolled[:, :m], first) and torch.allclose(rolled[:, m:], second, atol=1e-6)


def test_predictions_do_not_depend_on_the_batch():
    """GroupNorm, no batch statistics: a clip predicts the same alone or in a batch (and an EMA copy is exact)."""
    torch.manual_seed(0)
    net = SimVPPredictor(1, 2, 2, 16, width=4, n_blocks=2).train()
    context = torch.rand(3, 2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(net(context)[1:2], net(context[1:2]), atol=1e-6)


def test_bad_inputs_are_clear_errors():
    net = SimVPPredictor(1, 3, 2, 16, width=4, n_blocks=0)
    with pytest.raises(ValueError, match=r"context clips \[N, 3, 1, H, W\], got \(1, 2, 1, 16, 16\)"):
        net(torch.zeros(1, 2, 1, 16, 16))
    with pytest.raises(ValueError, match="multiples of 4, got 18x18"):
        net(torch.zeros(1, 3, 1, 18, 18))
    with pytest.raises(ConfigError, match="multiple of 4 px and at least 8 px"):
        SimVPPredictor(1, 3, 2, 30)
    with pytest.raises(ConfigError, match=">= 1 context and >= 1 predicted frame"):
        SimVPPredictor(1, 0, 2, 16)
