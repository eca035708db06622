"""LaMa's inpainting generator (Suvorov et al., 2022): a ResNet of fast Fourier convolutions (FFC).

An FFC splits its channels into a local part (ordinary 3x3 convolutions) and a global part whose
"spectral transform" mixes channels with a 1x1 convolution in the 2-D Fourier domain of the whole
feature map, so every output sees every input pixel from the first block on. That image-wide
receptive field is what lets LaMa fill large holes and outpaint bands, where a convolutional stack
only sees the hole's rim. Each FFC has four paths (Chi et al., 2020):

    local'  = conv(local) + conv(global)
    global' = conv(local) + spectral(global)

Layout: a 7x7 stem, `n_down` stride-2 convolutions, `n_blocks` residual FFC blocks (3/4 of the
channels global, LaMa's ratio), `n_down` transposed convolutions and a 7x7 head with tanh. The input
is the image with its hole zeroed plus the mask as one more channel, [N, C + 1, H, W]; the output is
the raw prediction [N, C, H, W] (the task and the pipeline composite it with the known pixels).
The network is fully convolutional: H and W must be multiples of `stride` = 2**n_down, any size else.
LaMa's local Fourier unit and its perceptual loss are left out: the plain spectral transform is
enough at 32-128 px and halves the FFT work.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import check_multiple
from ganforge.registry import NETWORKS


def _bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class FourierUnit(nn.Module):
    """x [N, C, H, W] -> real FFT over (H, W) -> 1x1 conv + BN + ReLU on (real, imag) as 2C channels -> inverse FFT."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * in_channels, 2 * out_channels, 1, bias=False)
        self.act = _bn_relu(2 * out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        # FFTs have no bf16/fp16 kernels on every device: run this unit in fp32 whatever autocast says.
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.fft.rfft2(x.float(), norm="ortho")  # [N, C, H, W//2+1] complex
            z = torch.cat([spec.real, spec.imag], dim=1)  # [N, 2C, H, W//2+1]
            z = self.act(self.conv(z))
            re, im = z.chunk(2, dim=1)
            out = torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho")  # [N, C_out, H, W]
        return out.to(x.dtype)


class SpectralTransform(nn.Module):
    """LaMa's global path: 1x1 conv down to half the channels, a Fourier unit with a residual, 1x1 conv back."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = max(1, out_channels // 2)
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, mid, 1, bias=False), *_bn_relu(mid))
        self.fu = FourierUnit(mid, mid)
        self.expand = nn.Conv2d(mid, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.expand(x + self.fu(x))


class FFC(nn.Module):
    """One fast Fourier convolution on (local, global) channel groups, each followed by BN + ReLU."""

    def __init__(self, channels: int, ratio: float = 0.75) -> None:
        super().__init__()
        g = int(round(channels * ratio))
        lo = channels - g
        if g < 2 or lo < 1:
            raise ConfigError(f"an FFC block with {channels} channels and global ratio {ratio} leaves {lo} local and "
                              f"{g} global channels; use a larger --width")
        self.split = lo

        def conv3(cin: int, cout: int) -> nn.Conv2d:
            return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect", bias=False)

        self.l2l, self.g2l, self.l2g = conv3(lo, lo), conv3(g, lo), conv3(lo, g)
        self.g2g = SpectralTransform(g, g)
        self.act_l, self.act_g = _bn_relu(lo), _bn_relu(g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xl, xg = x[:, : self.split], x[:, self.split :]
        yl = self.act_l(self.l2l(xl) + self.g2l(xg))
        yg = self.act_g(self.l2g(xl) + self.g2g(xg))
        return torch.cat([yl, yg], dim=1)


class FFCResBlock(nn.Module):
    """Two FFCs with a residual connection (LaMa's FFCResnetBlock)."""

    def __init__(self, channels: int, ratio: float = 0.75) -> None:
        super().__init__()
        self.body = nn.Sequential(FFC(channels, ratio), FFC(channels, ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@NETWORKS.register("lama.generator")
class LamaGenerator(nn.Module):
    """(image with hole zeroed, mask) [N, C + 1, H, W] -> prediction [N, C, H, W] in [-1, 1]; H, W multiples of `stride`."""

    def __init__(
        self,
        channels: int = 3,  # image channels (the input has one more: the mask)
        width: int = 32,  # channels of the stem, doubling per downsampling
        n_down: int = 2,  # stride-2 downsamplings before the FFC blocks (LaMa: 3 at 256 px)
        n_blocks: int = 4,  # residual FFC blocks at the lowest resolution (LaMa big: 18)
        ratio: float = 0.75,  # fraction of each block's channels on the global (Fourier) path
        max_channels: int = 512,  # cap on the widest layer
    ) -> None:
        super().__init__()
        if n_down < 0 or n_blocks < 0:
            raise ConfigError(f"lama needs n_down >= 0 and n_blocks >= 0, got {n_down} and {n_blocks}")
        self.channels, self.n_down = channels, n_down
        self.stride = 2**n_down
        self.min_size = max(self.stride, 4)  # the 7x7 reflect padding needs 4 px
        chans = [min(width * 2**i, max_channels) for i in range(n_down + 1)]
        layers: list[nn.Module] = [
            nn.Conv2d(channels + 1, chans[0], 7, padding=3, padding_mode="reflect", bias=False), *_bn_relu(chans[0])
        ]
        for i in range(n_down):
            layers += [nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1, bias=False), *_bn_relu(chans[i + 1])]
        layers += [FFCResBlock(chans[-1], ratio) for _ in range(n_blocks)]
        for i in reversed(range(n_down)):
            layers += [nn.ConvTranspose2d(chans[i + 1], chans[i], 3, stride=2, padding=1, output_padding=1, bias=False),
                       *_bn_relu(chans[i])]
        layers += [nn.Conv2d(chans[0], channels, 7, padding=3, padding_mode="reflect"), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == self.channels + 1, x.shape  # [N, C + 1, H, W]
        check_multiple(x, self.stride, "lama", self.min_size)
        return self.net(x)


def inpaint_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The generator's input: image [N, C, H, W] with the hole zeroed, and the mask [N, 1, H, W] (1 = hole)."""
    mask = mask.to(image.dtype)
    return torch.cat([image * (1 - mask), mask], dim=1)


def composite(prediction: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mask * prediction + (1 - mask) * image: the hole from the network, every known pixel from the input."""
    return torch.where(mask.bool(), prediction.to(image.dtype), image)


__all__ = ["FFC", "FourierUnit", "LamaGenerator", "SpectralTransform", "composite", "inpaint_input"]
