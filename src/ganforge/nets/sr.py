"""Super-resolution generators: SRResNet (Ledig et al., 2017) and ESRGAN's RRDB network (Wang et al., 2018).

Both map a low-resolution image [N, C, h, w] in [-1, 1] to [N, C, h * scale, w * scale]; both are fully
convolutional with zero padding, so any input size of at least 1 px works (the pipeline tiles large images).

- `SRResNet`: a 3x3 head, `n_blocks` residual blocks (conv-ReLU-conv, no batch norm, residuals scaled by a
  0.1-scaled initialisation), a trunk convolution with a long skip, pixel-shuffle upsampling by 2 per stage
  (one stage for x2, two for x4), two output convolutions, and the bilinearly upsampled input added to the
  output. This is BasicSR's MSRResNet (the "modified SRResNet" ESRGAN starts from): SRGAN's batch norm is
  left out (EDSR and ESRGAN show it brings artefacts and costs memory), its 9x9 head becomes 3x3.
- `RRDBNet`: ESRGAN's generator: `n_blocks` residual-in-residual dense blocks (three five-layer dense
  blocks each, growth `width // 2`), residual scaling 0.2 inside and around each block, no batch norm, a
  trunk convolution with a long skip, nearest-neighbour x2 upsampling + conv per stage, two output
  convolutions. Default initialisation scaled by 0.1, as in the paper.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.registry import NETWORKS

SCALES = (2, 4)


def _check_scale(scale: int) -> int:
    if scale not in SCALES:
        raise ConfigError(f"super-resolution scale must be 2 or 4, got {scale}")
    return int(scale)


def scaled_kaiming_(module: nn.Module, scale: float = 0.1) -> None:
    """Kaiming-normal weights times `scale`, zero biases (ESRGAN / BasicSR's default_init_weights)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            m.weight.data.mul_(scale)
            if m.bias is not None:
                m.bias.data.zero_()


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(x))), no batch norm (EDSR / MSRResNet)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, 1, 1)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1)
        scaled_kaiming_(self, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


@NETWORKS.register("sr.srresnet")
class SRResNet(nn.Module):
    """[N, C, h, w] -> [N, C, h * scale, w * scale]; see the module doc."""

    def __init__(
        self,
        channels: int = 3,  # image channels in and out (3 colour, 1 grey)
        scale: int = 4,  # upscaling factor: 2 or 4
        width: int = 64,  # feature channels
        n_blocks: int = 16,  # residual blocks (SRGAN: 16)
    ) -> None:
        super().__init__()
        self.channels, self.scale = channels, _check_scale(scale)
        self.in_channels = self.out_channels = channels
        self.head = nn.Conv2d(channels, width, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlock(width) for _ in range(n_blocks)])
        self.trunk = nn.Conv2d(width, width, 3, 1, 1)
        self.up = nn.ModuleList(nn.Conv2d(width, 4 * width, 3, 1, 1) for _ in range(int(math.log2(self.scale))))
        self.conv_hr = nn.Conv2d(width, width, 3, 1, 1)
        self.conv_last = nn.Conv2d(width, channels, 3, 1, 1)
        scaled_kaiming_(self.head, 0.1)
        scaled_kaiming_(self.trunk, 0.1)
        scaled_kaiming_(self.up, 0.1)
        scaled_kaiming_(self.conv_hr, 0.1)
        scaled_kaiming_(self.conv_last, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == self.channels, x.shape  # [N, C, h, w]
        feat = F.leaky_relu(self.head(x), 0.1)
        feat = feat + self.trunk(self.body(feat))
        for conv in self.up:
            feat = F.leaky_relu(F.pixel_shuffle(conv(feat), 2), 0.1)  # [N, width, 2h, 2w]
        out = self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.1))
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out + base  # [N, C, h * scale, w * scale]


class DenseBlock(nn.Module):
    """Five convolutions, each seeing the block input and every earlier output; x + 0.2 * last."""

    def __init__(self, width: int, growth: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(width + i * growth, growth if i < 4 else width, 3, 1, 1) for i in range(5)
        )
        scaled_kaiming_(self, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in self.convs[:-1]:
            features.append(F.leaky_relu(conv(torch.cat(features, 1)), 0.2))
        return x + 0.2 * self.convs[-1](torch.cat(features, 1))


class RRDB(nn.Module):
    """Residual in residual dense block: x + 0.2 * dense(dense(dense(x)))."""

    def __init__(self, width: int, growth: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[DenseBlock(width, growth) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.blocks(x)


@NETWORKS.register("sr.rrdb")
class RRDBNet(nn.Module):
    """ESRGAN's generator, [N, C, h, w] -> [N, C, h * scale, w * scale]; see the module doc."""

    def __init__(
        self,
        channels: int = 3,  # image channels in and out
        scale: int = 4,  # upscaling factor: 2 or 4
        width: int = 64,  # feature channels (ESRGAN: 64)
        n_blocks: int = 23,  # RRDB blocks (ESRGAN: 23)
        growth: int | None = None,  # channels each dense layer adds (None: width // 2, ESRGAN's 32)
    ) -> None:
        super().__init__()
        self.channels, self.scale = channels, _check_scale(scale)
        self.in_channels = self.out_channels = channels
        growth = growth or max(1, width // 2)
        self.head = nn.Conv2d(channels, width, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(width, growth) for _ in range(n_blocks)])
        self.trunk = nn.Conv2d(width, width, 3, 1, 1)
        self.up = nn.ModuleList(nn.Conv2d(width, width, 3, 1, 1) for _ in range(int(math.log2(self.scale))))
        self.conv_hr = nn.Conv2d(width, width, 3, 1, 1)
        self.conv_last = nn.Conv2d(width, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == self.channels, x.shape  # [N, C, h, w]
        feat = self.head(x)
        feat = feat + self.trunk(self.body(feat))
        for conv in self.up:
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))  # [N, C, h * scale, w * scale]
