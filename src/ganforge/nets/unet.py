"""pix2pix's U-Net generator (Isola et al., 2017): an encoder-decoder with skip connections.

Each encoder step halves the image with a 4x4 stride-2 convolution; each decoder step doubles it with
a 4x4 transposed convolution and sees the matching encoder activation through a skip connection, so
low-level detail (edges, layout) reaches the output without squeezing through the bottleneck. By
default the encoder goes down to 1x1 at the training resolution (8 steps at 256 px). The network is
fully convolutional: it takes any height and width that are multiples of `stride` = 2**depth.

pix2pix has no noise input; dropout (0.5) in the three innermost decoder blocks, kept on in training,
is its source of randomness ("dropout as noise"). The paper puts it on the first three decoder layers
(CD512 x3), which is what is done here; the authors' code shifts it one block outwards.

`residual=True` (not in the paper) makes the network predict a change to its input: output = input + the last
layer (zero at the start, clamped straight-through), so an untrained model is the identity and every pixel the
target shares with the input comes through at full resolution rather than through the outermost transposed
convolution. It needs input and output of the same channels.

`upsample="resize"` (not in the paper) replaces each transposed convolution by a nearest-neighbour x2 resize
and a 3x3 convolution (Odena et al., 2016): a stride-2 transposed convolution computes odd and even output
pixels from different kernel taps, so it can paint a period-2 checkerboard; a resize-conv uses the same taps
for every output pixel.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import (
    Norm2d,
    check_multiple,
    check_residual_channels,
    log2_resolution,
    normal_init,
    residual_image,
    upsample_layer,
    zero_init,
)
from ganforge.registry import NETWORKS


@NETWORKS.register("unet.generator")
class UNetGenerator(nn.Module):
    """image [N, C_in, H, W] -> image [N, C_out, H, W] in [-1, 1]; H, W multiples of `stride`."""

    def __init__(
        self,
        in_channels: int = 3,  # input image channels (the condition)
        out_channels: int = 3,  # output image channels
        resolution: int = 256,  # training side; sets the depth (down to 1x1) unless `depth` is given
        depth: int | None = None,  # encoder steps; None: log2(resolution)
        width: int = 64,  # channels of the first encoder layer (ngf), doubling per step
        max_channels: int = 512,  # cap on the widest layer
        norm: str = "batch",  # batch | instance | none
        dropout: float = 0.5,  # dropout probability in the innermost decoder blocks (0: none)
        dropout_blocks: int = 3,  # how many innermost decoder blocks get dropout
        residual: bool = False,  # output = input + a learned change (starts as the identity); needs C_in == C_out
        upsample: str = "transpose",  # decoder steps: 4x4 transposed convolutions (the paper) or resize-conv
    ) -> None:
        super().__init__()
        if depth is None:
            depth = log2_resolution(resolution, 4, 2048, "unet needs a power-of-two resolution from 4 to 2048 "
                                    "(or an explicit depth)")
        if depth < 2:
            raise ConfigError(f"unet needs depth >= 2, got {depth}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"unet dropout must be in [0, 1), got {dropout}")
        if residual:
            check_residual_channels("unet", in_channels, out_channels)
        self.in_channels, self.out_channels, self.depth, self.residual = in_channels, out_channels, depth, residual
        self.stride = 2**depth  # H and W must be multiples of this
        chans = [min(width * 2**i, max_channels) for i in range(depth)]  # encoder outputs, outermost first

        def bias(normed: bool) -> bool:  # batch norm's shift makes a bias redundant
            return not normed or norm != "batch"

        # Encoder: the outermost step is a bare convolution; inner ones start with leaky ReLU; the
        # innermost (1x1 at the training size) has no normalisation.
        self.downs = nn.ModuleList([nn.Conv2d(in_channels, chans[0], 4, 2, 1, bias=bias(False))])
        for i in range(1, depth):
            normed = i < depth - 1
            self.downs.append(nn.Sequential(
                nn.LeakyReLU(0.2),
                nn.Conv2d(chans[i - 1], chans[i], 4, 2, 1, bias=bias(normed)),
                Norm2d(norm if normed else "none", chans[i]),
            ))
        # Decoder, indexed like the encoder: ups[i] undoes downs[i]. All but the innermost take the
        # concatenation of the skip (downs[i]'s output) and the block below.
        head = upsample_layer(upsample, 2 * chans[0], out_channels, bias=True)
        self.ups = nn.ModuleList([nn.Sequential(nn.ReLU(inplace=True), head, *([] if residual else [nn.Tanh()]))])
        for i in range(1, depth):
            cin = chans[i] if i == depth - 1 else 2 * chans[i]
            block: list[nn.Module] = [
                nn.ReLU(inplace=True),
                upsample_layer(upsample, cin, chans[i - 1], bias=bias(True)),
                Norm2d(norm, chans[i - 1]),
            ]
            if dropout > 0 and i >= depth - dropout_blocks:
                block.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*block))
        normal_init(self)
        if residual:
            zero_init(head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == self.in_channels, x.shape  # [N, C_in, H, W]
        check_multiple(x, self.stride, f"unet of depth {self.depth}")
        skips = []
        h = x
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = self.ups[-1](skips[-1])
        for i in range(self.depth - 2, -1, -1):
            h = self.ups[i](torch.cat([skips[i], h], dim=1))
        return residual_image(x, h) if self.residual else h  # [N, C_out, H, W]
