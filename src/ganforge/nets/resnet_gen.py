"""CycleGAN's ResNet generator (Zhu et al., 2017, after Johnson et al.'s style-transfer network).

A 7x7 stem, two stride-2 downsamplings, `n_blocks` residual blocks at a quarter of the resolution,
two transposed-convolution upsamplings and a 7x7 output layer with tanh. Reflection padding at the
3x3 and 7x7 convolutions avoids the dark borders zero padding leaves; instance norm keeps each image's
statistics its own. The paper uses 6 blocks at 128 px and 9 at 256 px. Fully convolutional: it takes
any height and width that are multiples of `stride` = 4 (and at least 8). `residual=True` (not in the paper)
predicts a change to the input instead, as nets/unet.py's option: an untrained generator is the identity;
`upsample="resize"` (not in the paper either) upsamples by nearest-neighbour resize and a reflection-padded 3x3
convolution instead of transposed convolutions, against their checkerboard (Odena et al., 2016).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import (
    Norm2d,
    check_multiple,
    check_residual_channels,
    normal_init,
    residual_image,
    upsample_layer,
    zero_init,
)
from ganforge.registry import NETWORKS


class ResnetBlock(nn.Module):
    """x + (pad, conv3x3, norm, ReLU, [dropout], pad, conv3x3, norm)(x); channels kept."""

    def __init__(
        self,
        channels: int,  # input and output channels
        norm: str = "instance",  # batch | instance | none
        dropout: float = 0.0,  # dropout between the convolutions (CycleGAN: off)
    ) -> None:
        super().__init__()
        bias = norm != "batch"  # batch norm's shift makes a bias redundant
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), Norm2d(norm, channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), Norm2d(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@NETWORKS.register("resnet.generator")
class ResnetGenerator(nn.Module):
    """image [N, C_in, H, W] -> image [N, C_out, H, W] in [-1, 1]; H, W multiples of 4, at least 8."""

    stride = 4  # two stride-2 downsamplings
    n_down = 2

    def __init__(
        self,
        in_channels: int = 3,  # input image channels
        out_channels: int = 3,  # output image channels
        width: int = 64,  # channels of the stem (ngf); x2 per downsampling
        n_blocks: int = 9,  # residual blocks: 6 at 128 px, 9 at 256 px in the paper
        norm: str = "instance",  # batch | instance | none
        dropout: float = 0.0,  # dropout inside the residual blocks (CycleGAN: off)
        residual: bool = False,  # output = input + a learned change (starts as the identity); needs C_in == C_out
        upsample: str = "transpose",  # 3x3 transposed convolutions (the paper) or resize-conv
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ConfigError(f"resnet generator needs n_blocks >= 0, got {n_blocks}")
        if residual:
            check_residual_channels("resnet generator", in_channels, out_channels)
        self.in_channels, self.out_channels, self.residual = in_channels, out_channels, residual
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7, bias=bias), Norm2d(norm, width), nn.ReLU(inplace=True),
        ]
        c = width
        for _ in range(self.n_down):
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), Norm2d(norm, 2 * c), nn.ReLU(inplace=True)]
            c *= 2
        layers += [ResnetBlock(c, norm, dropout) for _ in range(n_blocks)]
        for _ in range(self.n_down):
            layers += [
                upsample_layer(upsample, c, c // 2, bias, transposed=(3, 2, 1, 1), padding_mode="reflect"),
                Norm2d(norm, c // 2),
                nn.ReLU(inplace=True),
            ]
            c //= 2
        head = nn.Conv2d(c, out_channels, 7)
        layers += [nn.ReflectionPad2d(3), head, *([] if residual else [nn.Tanh()])]
        self.model = nn.Sequential(*layers)
        normal_init(self)
        if residual:
            zero_init(head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == self.in_channels, x.shape  # [N, C_in, H, W]
        # Reflection padding of 1 at a quarter of the size needs at least 2 pixels there.
        check_multiple(x, self.stride, "the resnet generator", minimum=2 * self.stride)
        out = self.model(x)
        return residual_image(x, out) if self.residual else out  # [N, C_out, H, W]
