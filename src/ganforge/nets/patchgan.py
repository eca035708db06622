"""PatchGAN discriminators: pix2pix's NLayerDiscriminator and pix2pixHD's multi-scale stack of them.

A PatchGAN classifies every overlapping patch of its input as real or fake and returns the map of
logits [N, 1, h, w]; the adversarial losses in `losses.adversarial` average over it like over a batch.
It judges texture and local structure, and leaves global correctness to the L1 term. With the default
three strided layers each logit sees 70x70 input pixels (`receptive_field`), the paper's choice at 256 px.
For a conditional GAN the input is the condition and the image concatenated along channels.

The multi-scale discriminator (Wang et al., 2018) runs `num_d` PatchGANs on the input and on copies
average-pooled by 2, 4, ...: the coarse ones see global layout, the fine one detail. Both can return
their intermediate activations for the feature-matching loss (`losses.reconstruction`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import Norm2d, normal_init, spectral_norm
from ganforge.registry import NETWORKS

Features = list[torch.Tensor]


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Side of the input region one output unit sees, for stacked convolutions given as (kernel, stride)."""
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def _conv_specs(d_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of a PatchGAN's convolutions: `d_layers` halving ones, then two at stride 1."""
    return [(4, 2)] * d_layers + [(4, 1), (4, 1)]


def patchgan_receptive_field(d_layers: int) -> int:
    """Receptive field of a PatchGAN with `d_layers` strided layers: 16, 34, 70, 142, ... for 1, 2, 3, 4."""
    return receptive_field(_conv_specs(d_layers))


def check_input(x: torch.Tensor, channels: int, min_size: int, who: str, advice: str) -> None:
    """[N, C, H, W] with the discriminator's channels and a side it can take: a one-line ValueError otherwise."""
    assert x.ndim == 4 and x.shape[1] == channels, x.shape  # [N, C, H, W]
    h, w = x.shape[-2:]
    if h < min_size or w < min_size:
        raise ValueError(f"{who} needs inputs of at least {min_size}x{min_size}, got {h}x{w}; {advice}")


@NETWORKS.register("patchgan.discriminator")
class PatchGANDiscriminator(nn.Module):
    """image [N, C, H, W] -> logit map [N, 1, h, w], h = H / 2**d_layers - 2 (and activations, if asked)."""

    def __init__(
        self,
        in_channels: int = 6,  # condition + target channels concatenated, or the target's alone
        width: int = 64,  # channels of the first layer (ndf), doubling per strided layer
        d_layers: int = 3,  # strided layers; 3 gives the 70x70 PatchGAN
        max_channels: int = 512,  # cap on the widest layer
        norm: str = "batch",  # batch | instance | none (usually none with spectral norm)
        spectral: bool = False,  # spectral norm on every convolution (SN-PatchGAN)
    ) -> None:
        super().__init__()
        if d_layers < 1:
            raise ConfigError(f"patchgan needs --d-layers >= 1, got {d_layers}")
        self.in_channels, self.d_layers = in_channels, d_layers
        self.receptive_field = patchgan_receptive_field(d_layers)
        self.min_size = _min_input_size(_conv_specs(d_layers))
        chans = [min(width * 2**i, max_channels) for i in range(d_layers + 1)]
        bias = norm != "batch"  # batch norm's shift makes a bias redundant
        convs = [nn.Conv2d(in_channels, chans[0], 4, 2, 1)]
        convs += [nn.Conv2d(chans[i - 1], chans[i], 4, 2 if i < d_layers else 1, 1, bias=bias)
                  for i in range(1, d_layers + 1)]
        head = nn.Conv2d(chans[-1], 1, 4, 1, 1)
        for conv in (*convs, head):
            normal_init(conv)
        self.blocks = nn.ModuleList()
        for i, conv in enumerate(convs):  # the first layer is never normalised
            self.blocks.append(nn.Sequential(
                spectral_norm(conv, spectral), Norm2d(norm if i > 0 else "none", conv.out_channels),
                nn.LeakyReLU(0.2, inplace=True),
            ))
        self.head = spectral_norm(head, spectral)

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, Features]:
        check_input(x, self.in_channels, self.min_size, f"a patchgan with d_layers={self.d_layers}",
                    "use fewer discriminator layers (or scales) or larger images")
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        logits = self.head(x)  # [N, 1, h, w]
        return (logits, features) if return_features else logits


def _min_input_size(layers: Sequence[tuple[int, int]]) -> int:
    """The smallest side for which 4x4 convolutions with padding 1 leave at least one output."""
    size = 1
    for _kernel, stride in reversed(layers):  # out = floor((n + 2 - 4) / s) + 1 >= size
        size = (size - 1) * stride + 2
    return size


@NETWORKS.register("patchgan.multiscale")
class MultiScaleDiscriminator(nn.Module):
    """image [N, C, H, W] -> one logit map per scale, finest first (and each scale's activations, if asked)."""

    def __init__(
        self,
        in_channels: int = 6,  # condition + target channels concatenated, or the target's alone
        num_d: int = 2,  # scales: the input, then average-pooled by 2, 4, ...
        width: int = 64,  # channels of each PatchGAN's first layer
        d_layers: int = 3,  # strided layers of each PatchGAN
        max_channels: int = 512,  # cap on the widest layer
        norm: str = "instance",  # batch | instance | none (pix2pixHD: instance)
        spectral: bool = False,  # spectral norm on every convolution (SPADE's discriminator)
    ) -> None:
        super().__init__()
        if num_d < 1:
            raise ConfigError(f"a multi-scale discriminator needs num_d >= 1, got {num_d}")
        self.in_channels, self.num_d = in_channels, num_d
        self.discriminators = nn.ModuleList([
            PatchGANDiscriminator(in_channels, width, d_layers, max_channels, norm, spectral) for _ in range(num_d)
        ])
        # Each pooling maps n to ceil(n / 2): the coarsest scale must still fit one PatchGAN.
        self.min_size = (self.discriminators[0].min_size - 1) * 2 ** (num_d - 1) + 1

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> list[torch.Tensor] | tuple[list[torch.Tensor], list[Features]]:
        check_input(x, self.in_channels, self.min_size, f"a {self.num_d}-scale discriminator",
                    "use fewer scales or discriminator layers, or larger images")
        logits, features = [], []
        for i, d in enumerate(self.discriminators):
            if i > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out, feats = d(x, return_features=True)
            logits.append(out)
            features.append(feats)
        return (logits, features) if return_features else logits
