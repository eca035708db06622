"""CycleGAN ResNet generator: shapes at odd-but-valid sizes, clear size errors, block structure."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets.resnet_gen import ResnetBlock, ResnetGenerator


def _gen(**kwargs) -> ResnetGenerator:
    torch.manual_seed(0)
    return ResnetGenerator(**{"in_channels": 3, "out_channels": 1, "width": 4, "n_blocks": 2, **kwargs})


@pytest.mark.parametrize("size", [(8, 8), (12, 20), (36, 28)])
def test_shapes_and_range_at_multiples_of_four(size):
    G = _gen()
    assert G.stride == 4
    y = G(torch.randn(2, 3, *size))
    assert y.shape == (2, 1, *size)
    assert y.min() >= -1 and y.max() <= 1


def test_invalid_sizes_name_the_multiple():
    G = _gen()
    with pytest.raises(ValueError, match=r"multiples of 4.*got 10x16"):
        G(torch.randn(1, 3, 10, 16))
    with pytest.raises(ValueError, match=r"multiples of 4 \(at least 8\), got 4x8"):
        G(torch.randn(1, 3, 4, 8))
    with pytest.raises(ConfigError, match="got -1"):
        ResnetGenerator(n_blocks=-1)


def test_block_count_channels_and_reflection_padding():
    G = _gen(n_blocks=6, width=8)
    blocks = [m for m in G.modules() if isinstance(m, ResnetBlock)]
    assert len(blocks) == 6
    assert {b.body[1].in_channels for b in blocks} == {32}  # 4 * width after two downsamplings
    assert not any(isinstance(m, torch.nn.Conv2d) and m.padding != (0, 0) and m.stride == (1, 1) for m in G.modules())


def test_residual_block_is_identity_when_its_body_is_zero():
    block = ResnetBlock(4, norm="none")
    for p in block.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_norms_and_dropout_train(norm):
    G = _gen(norm=norm, dropout=0.5)
    G(torch.randn(1, 3, 8, 8)).mean().backward()
    assert all(p.grad is not None for p in G.parameters())
