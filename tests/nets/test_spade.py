"""SPADE: spatially-adaptive normalisation, residual blocks, and the label-map generator's shapes and errors."""

from __future__ import annotations

import copy

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets.spade import SPADE, SPADEGenerator, SPADEResBlock, one_hot_labels

SMALL = dict(num_labels=3, out_channels=3, width=4, max_channels=16, hidden=4)


def _labels(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return one_hot_labels(torch.randint(0, 3, (n, h, w), generator=g), 3)


def test_one_hot_labels_and_range_error():
    labels = torch.tensor([[[0, 2], [1, 1]]])
    onehot = one_hot_labels(labels, 3)
    assert onehot.shape == (1, 3, 2, 2) and torch.equal(onehot.argmax(1), labels)
    with pytest.raises(ValueError, match=r"0\.\.2, got 0\.\.3"):
        one_hot_labels(torch.tensor([[[0, 3]]]), 3)


def test_spade_is_the_plain_norm_when_gamma_and_beta_are_zero():
    spade = SPADE(4, 3, hidden=4, norm="instance")
    for conv in (spade.gamma, spade.beta):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    x = torch.randn(2, 4, 8, 8)
    assert torch.allclose(spade(x, _labels(2, 16, 16)), torch.nn.functional.instance_norm(x), atol=1e-6)


def test_spade_modulation_follows_the_label_map_per_pixel():
    torch.manual_seed(0)
    spade = SPADE(4, 3, hidden=4, norm="batch")
    x = torch.randn(1, 4, 8, 8)
    left = one_hot_labels(torch.zeros(1, 8, 8, dtype=torch.long), 3)
    right = left.clone()
    right[:, :, :, 4:] = one_hot_labels(torch.ones(1, 8, 4, dtype=torch.long), 3)  # only the right half changes
    a, b = spade(x, left), spade(x, right)
    assert torch.equal(a[..., :2], b[..., :2])  # beyond the two 3x3 convs' reach of the change: identical
    assert not torch.allclose(a[..., 4:], b[..., 4:])


def test_learned_shortcut_only_when_channels_change():
    assert SPADEResBlock(8, 4, 3, hidden=4).learned_shortcut
    same = SPADEResBlock(4, 4, 3, hidden=4)
    assert not same.learned_shortcut and not hasattr(same, "conv_s")
    x = torch.randn(2, 8, 4, 4)
    assert SPADEResBlock(8, 4, 3, hidden=4)(x, _labels(2, 8, 8)).shape == (2, 4, 4, 4)


@pytest.mark.parametrize(("resolution", "num_up"), [(256, 5), (64, 3), (16, 1)])
def test_num_up_from_resolution(resolution, num_up):
    G = SPADEGenerator(resolution=resolution, **SMALL)
    assert G.num_up == num_up and G.stride == 2**num_up and len(G.blocks) == num_up


def test_shapes_range_and_fully_convolutional():
    torch.manual_seed(0)
    G = SPADEGenerator(resolution=32, **SMALL)  # stride 4
    y = G(_labels(2, 12, 20))
    assert y.shape == (2, 3, 12, 20) and y.min() >= -1 and y.max() <= 1
    assert G(_labels(2, 64, 32)).shape == (2, 3, 64, 32)


def test_labels_drive_the_output():
    torch.manual_seed(0)
    G = SPADEGenerator(resolution=16, **SMALL).eval()
    assert not torch.allclose(G(_labels(1, 16, 16, seed=0)), G(_labels(1, 16, 16, seed=1)))


def test_invalid_sizes_and_arguments():
    G = SPADEGenerator(num_up=2, **SMALL)
    with pytest.raises(ValueError, match=r"multiples of 4.*got 10x16"):
        G(_labels(1, 10, 16))
    G_in = SPADEGenerator(num_up=2, norm="instance", **SMALL)
    with pytest.raises(ValueError, match=r"multiples of 4 \(at least 8\), got 4x8"):
        G_in(_labels(1, 4, 8))
    with pytest.raises(ConfigError, match="got 48"):
        SPADEGenerator(resolution=48)
    with pytest.raises(ConfigError, match="batch or instance, got 'none'"):
        SPADEGenerator(num_up=1, norm="none", **SMALL)


@pytest.mark.parametrize(("norm", "spectral"), [("batch", True), ("instance", False)])
def test_trains_with_either_norm_and_spectral_norm(norm, spectral):
    torch.manual_seed(0)
    G = SPADEGenerator(num_up=2, norm=norm, spectral=spectral, **SMALL)
    G(_labels(2, 8, 8)).square().mean().backward()
    assert all(p.grad is not None for p in G.parameters())


def test_spectral_norm_survives_the_ema_copy():
    torch.manual_seed(0)
    G = SPADEGenerator(num_up=1, **SMALL)
    G(_labels(2, 8, 8))  # one power iteration and batch-statistics update
    shadow = copy.deepcopy(G).eval()
    x = _labels(1, 8, 8)
    assert torch.equal(shadow(x), G.eval()(x))
