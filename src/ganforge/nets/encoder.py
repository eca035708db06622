"""An encoder into StyleGAN2's W+ (pSp/e4e's idea at our scale): images -> one w per generator layer.

StyleGAN2's residual downsampling trunk reads the image from its resolution down to 4 x 4; the styles of the
generator's layers at resolution r are read from the trunk's features at r (coarse layers from the 4 x 4 map, fine
ones from the full-resolution features), as pSp's feature pyramid does. The prediction is an offset from the
generator's average w; the output layers start at zero, so an untrained encoder answers w_avg (e4e's start).

With `feature_res` (Feature-Style Encoder, Yao et al. 2022), a head also reads the trunk's features at that resolution
into a residual for the generator's own features there (`synthesis(..., feature_residual=...)`): the detail one w per
layer cannot carry. It starts at zero too, and the coarser layers above it stay editable through the ws.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nets.stylegan2 import (
    EqualConv2d,
    EqualLinear,
    _log2_resolution,
    channels_at,
    residual_down,
    residual_down_block,
)
from ganforge.registry import NETWORKS


def layers_at(resolution: int) -> list[int]:
    """How many of StyleGAN2's ws each resolution owns, from 4 px up: 2 (conv, rgb) at 4, then 3 (conv, conv, rgb)."""
    return [2] + [3] * (_log2_resolution(resolution) - 2)


@NETWORKS.register("encoder.stylegan2")
class StyleEncoder(nn.Module):
    """uint8-range-free images [N, C, R, R] in [-1, 1] -> ws [N, num_ws, w_dim] (w_avg + a predicted offset)."""

    def __init__(self, resolution: int = 32, channels: int = 3, w_dim: int = 128, channel_base: int = 2048,
                 channel_max: int = 128, feature_res: int = 0, feature_channels: int = 0) -> None:
        super().__init__()
        log_res = _log2_resolution(resolution)
        self.resolution, self.channels, self.w_dim = resolution, channels, w_dim
        self.feature_res = feature_res  # 0: ws only; else the resolution of the generator features it adds to
        self.num_ws = sum(layers_at(resolution))
        self.register_buffer("w_avg", torch.zeros(w_dim))  # the generator's, set when training starts
        self.from_rgb = EqualConv2d(channels, channels_at(resolution, channel_base, channel_max), 1)
        self.blocks = nn.ModuleList()
        for lr in range(log_res, 2, -1):
            cin, cout = channels_at(2**lr, channel_base, channel_max), channels_at(2 ** (lr - 1), channel_base, channel_max)
            self.blocks.append(residual_down_block(cin, cout))
        # one head per resolution above 4 px: mean and std of its features -> its layers' offsets
        self.heads = nn.ModuleList()
        for lr, count in zip(range(log_res, 2, -1), reversed(layers_at(resolution)[1:]), strict=True):
            c = channels_at(2**lr, channel_base, channel_max)
            self.heads.append(nn.Sequential(EqualLinear(2 * c, 2 * c, activate=True), zero_start(EqualLinear(2 * c, count * w_dim))))
        c4 = channels_at(4, channel_base, channel_max)
        self.conv4 = EqualConv2d(c4, c4, 3)
        self.fc4 = EqualLinear(c4 * 16, 2 * c4, activate=True)
        self.base = zero_start(EqualLinear(2 * c4, w_dim))  # one w shared by every layer
        self.head4 = zero_start(EqualLinear(2 * c4, layers_at(resolution)[0] * w_dim))
        if feature_res:
            if feature_res not in [2**lr for lr in range(2, log_res + 1)] or feature_channels < 1:
                raise ValueError(f"feature_res must be a resolution from 4 to {resolution} with feature_channels > 0, "
                                 f"got {feature_res} and {feature_channels}")
            c = channels_at(feature_res, channel_base, channel_max)
            self.feature_head = nn.Sequential(EqualConv2d(c, c, 3), zero_start(EqualConv2d(c, feature_channels, 3,
                                                                                            activate=False)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ws [N, num_ws, w_dim] only (see `encode` for the feature residual too)."""
        return self.encode(x)[0]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(ws [N, num_ws, w_dim], the feature residual [N, C, r, r] at `feature_res`, or None without one)."""
        assert x.ndim == 4 and x.shape[1:] == (self.channels, self.resolution, self.resolution), x.shape
        n = x.shape[0]
        h = self.from_rgb(x)
        residual = None
        fine = []  # offsets of the layers above 4 px, finest first
        for block, head in zip(self.blocks, self.heads, strict=True):
            if h.shape[-1] == self.feature_res:
                residual = self.feature_head(h)
            pooled = torch.cat([h.mean(dim=(2, 3)), h.float().std(dim=(2, 3)).to(h.dtype)], dim=1)
            fine.append(head(pooled).view(n, -1, self.w_dim))
            h = residual_down(block, h)
        if self.feature_res == 4:
            residual = self.feature_head(h)
        h = self.fc4(self.conv4(h).flatten(1))
        offsets = torch.cat([self.head4(h).view(n, -1, self.w_dim), *reversed(fine)], dim=1)
        return self.w_avg.to(offsets.dtype) + self.base(h)[:, None] + offsets, residual  # ws: [N, num_ws, w_dim]


def zero_start(layer: nn.Module) -> nn.Module:
    """An output layer whose weights start at zero: the encoder begins at the average w."""
    with torch.no_grad():
        layer.weight.zero_()
    return layer
