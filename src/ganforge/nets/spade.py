"""SPADE generator (Park et al., 2019, "GauGAN"): label map -> image through spatially-adaptive norm.

Normalising a one-hot label map washes it out (a constant region normalises to zero), so SPADE never
feeds the labels through a normalisation: each normalisation layer is parameter-free, and its per-pixel
scale and shift come from a small convolutional net applied to the label map resized to the layer's
size. The generator starts from the label map downsampled by `stride` = 2**num_up (the paper's
variant without the image encoder, so no VAE), then alternates nearest-neighbour 2x upsampling and
SPADE residual blocks, halving channels towards the output. It is fully convolutional: any height
and width that are multiples of `stride` work.

Left out from the paper's "normal" generator: the second residual block at the lowest resolution
(G_middle_1); the style encoder (VAE) and the multi-modal sampling it allows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import check_multiple, log2_resolution, normal_init, spectral_norm
from ganforge.registry import NETWORKS


def one_hot_labels(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """Integer label map [N, H, W] -> one-hot float map [N, num_labels, H, W], the generator's input."""
    assert labels.ndim == 3, labels.shape  # [N, H, W]
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_labels:
        raise ValueError(f"label map values must lie in 0..{num_labels - 1}, got {low}..{high}")
    return F.one_hot(labels.long(), num_labels).permute(0, 3, 1, 2).float()


class SPADE(nn.Module):
    """Parameter-free norm of x, then x * (1 + gamma(labels)) + beta(labels), per pixel."""

    def __init__(
        self,
        channels: int,  # channels of the normalised activations
        num_labels: int,  # channels of the one-hot label map
        hidden: int = 128,  # channels of the shared conv on the label map
        norm: str = "batch",  # parameter-free normalisation: batch | instance
    ) -> None:
        super().__init__()
        if norm == "batch":
            self.norm: nn.Module = nn.BatchNorm2d(channels, affine=False)
        elif norm == "instance":
            self.norm = nn.InstanceNorm2d(channels)
        else:
            raise ConfigError(f"SPADE's normalisation must be batch or instance, got {norm!r}")
        self.shared = nn.Sequential(nn.Conv2d(num_labels, hidden, 3, padding=1), nn.ReLU(inplace=True))
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # x: [N, C, h, w]; labels: [N, L, H, W], resized here to h x w
        labels = F.interpolate(labels, size=x.shape[2:], mode="nearest")
        actv = self.shared(labels)
        return self.norm(x) * (1 + self.gamma(actv)) + self.beta(actv)


class SPADEResBlock(nn.Module):
    """(SPADE, leaky ReLU, conv3x3) twice, plus a shortcut that is learned (SPADE, conv1x1) when channels change."""

    def __init__(
        self,
        in_channels: int,  # input channels
        out_channels: int,  # output channels
        num_labels: int,  # channels of the one-hot label map
        hidden: int = 128,  # channels of each SPADE's label-map conv
        norm: str = "batch",  # SPADE's parameter-free normalisation: batch | instance
        spectral: bool = True,  # spectral norm on the block's convolutions (the paper's default)
    ) -> None:
        super().__init__()
        middle = min(in_channels, out_channels)
        self.learned_shortcut = in_channels != out_channels
        conv_0 = nn.Conv2d(in_channels, middle, 3, padding=1)
        conv_1 = nn.Conv2d(middle, out_channels, 3, padding=1)
        normal_init(conv_0)
        normal_init(conv_1)
        self.norm_0 = SPADE(in_channels, num_labels, hidden, norm)
        self.conv_0 = spectral_norm(conv_0, spectral)
        self.norm_1 = SPADE(middle, num_labels, hidden, norm)
        self.conv_1 = spectral_norm(conv_1, spectral)
        if self.learned_shortcut:
            conv_s = nn.Conv2d(in_channels, out_channels, 1, bias=False)
            normal_init(conv_s)
            self.norm_s = SPADE(in_channels, num_labels, hidden, norm)
            self.conv_s = spectral_norm(conv_s, spectral)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, labels)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, labels), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, labels), 0.2))
        return shortcut + dx


@NETWORKS.register("spade.generator")
class SPADEGenerator(nn.Module):
    """one-hot label map [N, L, H, W] -> image [N, C, H, W] in [-1, 1]; H, W multiples of `stride`."""

    def __init__(
        self,
        num_labels: int = 10,  # channels of the one-hot label map (see one_hot_labels)
        out_channels: int = 3,  # output image channels
        resolution: int = 256,  # training side; sets num_up (start at 8x8) unless num_up is given
        num_up: int | None = None,  # 2x upsamplings; None: log2(resolution) - 3 (the paper's 5 at 256 px)
        width: int = 64,  # channels at the output resolution (nf); x2 per step down, up to max_channels
        max_channels: int = 1024,  # cap on the widest layer (the paper's 16 * nf)
        hidden: int = 128,  # channels of each SPADE's label-map conv
        norm: str = "batch",  # SPADE's parameter-free normalisation: batch | instance
        spectral: bool = True,  # spectral norm in the residual blocks
    ) -> None:
        super().__init__()
        if num_up is None:
            num_up = log2_resolution(resolution, 16, 2048, "spade needs a power-of-two resolution from 16 to 2048 "
                                     "(or an explicit num_up)") - 3
        if num_up < 1:
            raise ConfigError(f"spade needs num_up >= 1, got {num_up}")
        if num_labels < 1:
            raise ConfigError(f"spade needs at least one label, got num_labels={num_labels}")
        self.num_labels, self.out_channels, self.num_up = num_labels, out_channels, num_up
        self.stride = 2**num_up
        # Instance norm needs more than one pixel at the lowest resolution.
        self.min_size = 2 * self.stride if norm == "instance" else self.stride
        chans = [min(width * 2 ** (num_up - k), max_channels) for k in range(num_up + 1)]  # lowest resolution first
        self.fc = nn.Conv2d(num_labels, chans[0], 3, padding=1)
        self.head = SPADEResBlock(chans[0], chans[0], num_labels, hidden, norm, spectral)
        self.blocks = nn.ModuleList([
            SPADEResBlock(chans[k - 1], chans[k], num_labels, hidden, norm, spectral) for k in range(1, num_up + 1)
        ])
        self.to_rgb = nn.Conv2d(chans[-1], out_channels, 3, padding=1)
        normal_init(self.fc)
        normal_init(self.to_rgb)
        for spade in self.modules():
            if isinstance(spade, SPADE):
                normal_init(spade)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        assert labels.ndim == 4 and labels.shape[1] == self.num_labels, labels.shape  # [N, L, H, W]
        check_multiple(labels, self.stride, f"spade with num_up={self.num_up}", minimum=self.min_size)
        h, w = labels.shape[2] // self.stride, labels.shape[3] // self.stride
        x = self.fc(F.interpolate(labels, size=(h, w), mode="nearest"))  # [N, C0, H / stride, W / stride]
        x = self.head(x, labels)
        for block in self.blocks:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), labels)
        return torch.tanh(self.to_rgb(F.leaky_relu(x, 0.2)))  # [N, C, H, W]
