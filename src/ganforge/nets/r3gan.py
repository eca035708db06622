"""R3GAN's networks (Huang et al., 2024, "The GAN is dead; long live the GAN!"), sized for small images.

A plain ResNet with no normalisation, no noise, no mapping network and no minibatch std: each
residual block is an inverted bottleneck (1x1 expand, grouped 3x3, 1x1 compress) with leaky ReLU;
the residual branch's last convolution starts at zero and the others are scaled down by the
number of blocks (fix-up initialisation), which is what keeps training stable without
normalisation. Resampling is bilinear (the [1, 3, 3, 1] filter). The generator starts from a
learned 4x4 basis modulated by a linear map of z; the discriminator ends with a depthwise 4x4
basis and a linear layer, with a projection onto the label embedding when conditional.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import log2_resolution, projection_logits
from ganforge.nets.stylegan2 import downsample2, upsample2
from ganforge.registry import NETWORKS


def _check_resolution(resolution: int) -> int:
    return log2_resolution(resolution, 8, 1024, "r3gan needs a power-of-two --resolution from 8 to 1024")


def stage_channels(resolution: int, width: int) -> dict[int, int]:
    """Channels per resolution: 4 * width at 4..16 px, halving with each doubling beyond."""
    return {2**k: max(4 * width // max(2 ** (k - 4), 1), width) for k in range(2, _check_resolution(resolution) + 1)}


def _conv(cin: int, cout: int, kernel: int, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    """Conv with He initialisation for leaky ReLU, scaled by `gain` (0: the zero-started residual output)."""
    conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, groups=groups)
    fan_in = cin // groups * kernel * kernel
    std = gain * math.sqrt(2 / (1 + 0.2**2)) / math.sqrt(fan_in)
    nn.init.normal_(conv.weight, 0.0, std) if gain > 0 else nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class ResidualBlock(nn.Module):
    """x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))), channels kept."""

    def __init__(self, channels: int, expansion: int, group_width: int, gain: float) -> None:
        super().__init__()
        hidden = channels * expansion
        groups = max(hidden // group_width, 1)
        self.expand = _conv(channels, hidden, 1, gain=gain)
        self.mix = _conv(hidden, hidden, 3, groups=groups, gain=gain)
        self.compress = _conv(hidden, channels, 1, gain=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.expand(x), 0.2)
        h = F.leaky_relu(self.mix(h), 0.2)
        return x + self.compress(h)


def _fixup_gain(total_blocks: int) -> float:
    """Fix-up scaling L^(-1/(2m-2)) for L blocks of m = 3 convolutions."""
    return total_blocks ** (-1 / 4)


@NETWORKS.register("r3gan.generator")
class R3GANGenerator(nn.Module):
    """z [N, z_dim] (+ labels) -> image [N, C, R, R]."""

    def __init__(
        self,
        resolution: int = 32,  # output side, power of two
        channels: int = 3,  # output channels
        z_dim: int = 64,  # latent size
        num_classes: int = 0,  # >0: a label embedding is concatenated to z
        width: int = 32,  # channels: 4 * width up to 16 px, then halving per doubling
        blocks_per_stage: int = 1,  # residual blocks at each resolution
        expansion: int = 2,  # inverted-bottleneck expansion
        group_width: int = 16,  # channels per group in the 3x3 convolutions
        embed_dim: int = 32,  # size of the label embedding
    ) -> None:
        super().__init__()
        self.resolution, self.channels, self.z_dim, self.num_classes = resolution, channels, z_dim, num_classes
        chans = stage_channels(resolution, width)
        gain = _fixup_gain(blocks_per_stage * len(chans))
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        in_dim = z_dim + (embed_dim if num_classes else 0)
        c4 = chans[4]
        self.basis = nn.Parameter(torch.randn(c4, 4, 4))
        self.basis_mod = nn.Linear(in_dim, c4)  # per-sample scales of the basis channels
        self.stages = nn.ModuleList()
        self.transitions = nn.ModuleList()  # 1x1 channel change before upsampling (identity when equal)
        prev = c4
        for c in chans.values():
            self.transitions.append(nn.Identity() if c == prev else _conv(prev, c, 1))
            self.stages.append(nn.Sequential(*[ResidualBlock(c, expansion, group_width, gain) for _ in range(blocks_per_stage)]))
            prev = c
        self.to_rgb = _conv(prev, channels, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.z_dim, z.shape  # [N, z_dim]
        if self.embed is not None:
            assert labels is not None, "a conditional generator needs labels"
            z = torch.cat([z, self.embed(labels)], dim=1)
        x = self.basis[None] * self.basis_mod(z)[:, :, None, None]  # [N, C4, 4, 4]
        for i, (transition, stage) in enumerate(zip(self.transitions, self.stages)):
            if i > 0:
                x = upsample2(transition(x))
            x = stage(x)
        return self.to_rgb(x)  # [N, C, R, R]


@NETWORKS.register("r3gan.discriminator")
class R3GANDiscriminator(nn.Module):
    """image [N, C, R, R] (+ labels) -> logits [N]."""

    def __init__(
        self,
        resolution: int = 32,
        channels: int = 3,
        num_classes: int = 0,
        width: int = 32,
        blocks_per_stage: int = 1,
        expansion: int = 2,
        group_width: int = 16,
        embed_dim: int = 32,
    ) -> None:
        super().__init__()
        self.resolution, self.channels, self.num_classes = resolution, channels, num_classes
        chans = stage_channels(resolution, width)
        gain = _fixup_gain(blocks_per_stage * len(chans))
        order = sorted(chans, reverse=True)  # R, R/2, ..., 4
        self.from_rgb = _conv(channels, chans[order[0]], 1)
        self.stages = nn.ModuleList()
        self.transitions = nn.ModuleList()  # after downsampling, 1x1 channel change (identity when equal)
        for i, res in enumerate(order):
            c = chans[res]
            self.stages.append(nn.Sequential(*[ResidualBlock(c, expansion, group_width, gain) for _ in range(blocks_per_stage)]))
            nxt = chans[order[i + 1]] if i + 1 < len(order) else c
            self.transitions.append(nn.Identity() if nxt == c else _conv(c, nxt, 1))
        c4 = chans[4]
        self.basis = nn.Conv2d(c4, c4, 4, groups=c4)  # depthwise 4x4 -> [N, C4, 1, 1]
        out_dim = embed_dim if num_classes else 1
        self.out = nn.Linear(c4, out_dim)
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.embed_dim = embed_dim

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1:] == (self.channels, self.resolution, self.resolution), x.shape
        h = self.from_rgb(x)
        last = len(self.stages) - 1
        for i, (stage, transition) in enumerate(zip(self.stages, self.transitions)):
            h = stage(h)
            if i < last:
                h = transition(downsample2(h))
        out = self.out(self.basis(h).flatten(1))  # [N, out_dim]
        if self.embed is None:
            return projection_logits(out, None)
        assert labels is not None, "a conditional discriminator needs labels"
        return projection_logits(out, self.embed(labels))
