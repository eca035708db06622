"""DCGAN (Radford et al., 2016): transposed-conv generator, strided-conv discriminator.

Sized by resolution (a power of two, 16 to 128) and a channel width; class-conditional through
conditional batch norm in G and a projection discriminator (Miyato & Koyama, 2018).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import Norm2d, log2_resolution, normal_init
from ganforge.registry import NETWORKS


def _check_resolution(resolution: int) -> int:
    return log2_resolution(resolution, 16, 128, "dcgan needs --resolution 16, 32, 64 or 128")


@NETWORKS.register("dcgan.generator")
class DCGANGenerator(nn.Module):
    """z [N, z_dim] (+ labels [N]) -> image [N, C, R, R] in [-1, 1]."""

    def __init__(
        self,
        resolution: int = 32,  # output side, power of two in 16..128
        channels: int = 3,  # output image channels
        z_dim: int = 100,  # latent size
        width: int = 64,  # channels of the last hidden layer (ngf)
        num_classes: int = 0,  # >0: conditional batch norm per class
        max_channels: int = 512,  # cap on the widest layer
        label_input: bool = True,  # when conditional, join the one-hot label to z
        cond_norm: bool = True,  # conditional batch norm when conditional
    ) -> None:
        super().__init__()
        log_res = _check_resolution(resolution)
        self.resolution, self.channels, self.z_dim, self.num_classes = resolution, channels, z_dim, num_classes
        n_up = log_res - 2  # 4x4 -> R
        chans = [min(width * 2 ** (n_up - 1 - i), max_channels) for i in range(n_up)]  # 4x4 .. R/2
        # Conditional: the one-hot label joins z at the input (Mirza & Osindero) and conditional batch
        # norm modulates every layer. A learned N(0, 1) embedding at the input made G ignore z within
        # a class (intra-class collapse on MNIST); the one-hot code keeps z dominant.
        self.label_input = num_classes if (num_classes > 0 and label_input) else 0
        self.stem = nn.ConvTranspose2d(z_dim + self.label_input, chans[0], 4, 1, 0, bias=False)
        norm_classes = num_classes if cond_norm else 0
        self.stem_norm = Norm2d("batch", chans[0], norm_classes)
        self.ups = nn.ModuleList()
        self.norms = nn.ModuleList()
        for cin, cout in zip(chans[:-1], chans[1:]):
            self.ups.append(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False))
            self.norms.append(Norm2d("batch", cout, norm_classes))
        self.to_rgb = nn.ConvTranspose2d(chans[-1], channels, 4, 2, 1)
        self.act = nn.ReLU(inplace=True)
        normal_init(self)  # N(0, 0.02), as in the paper

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.z_dim, z.shape  # [N, z_dim]
        if self.label_input:
            assert labels is not None, "a conditional generator needs labels"
            z = torch.cat([z, F.one_hot(labels, self.label_input).to(z.dtype)], dim=1)
        h = self.act(self.stem_norm(self.stem(z[:, :, None, None]), labels))
        for up, norm in zip(self.ups, self.norms):
            h = self.act(norm(up(h), labels))
        return torch.tanh(self.to_rgb(h))  # [N, C, R, R]


@NETWORKS.register("dcgan.discriminator")
class DCGANDiscriminator(nn.Module):
    """image [N, C, R, R] (+ labels [N]) -> logits [N]; projection term when conditional."""

    def __init__(
        self,
        resolution: int = 32,  # input side, power of two in 16..128
        channels: int = 3,  # input image channels
        width: int = 64,  # channels of the first layer (ndf)
        num_classes: int = 0,  # >0: projection discriminator
        norm: str = "batch",  # batch | none (WGAN-GP needs none)
        max_channels: int = 512,  # cap on the widest layer
    ) -> None:
        super().__init__()
        log_res = _check_resolution(resolution)
        self.resolution, self.channels, self.num_classes = resolution, channels, num_classes
        n_down = log_res - 2  # R -> 4x4
        chans = [min(width * 2**i, max_channels) for i in range(n_down)]
        layers: list[nn.Module] = [nn.Conv2d(channels, chans[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=norm == "none"), Norm2d(norm, cout), nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(chans[-1], 1, 4, 1, 0)
        self.embed = nn.Embedding(num_classes, chans[-1]) if num_classes > 0 else None
        normal_init(self)  # N(0, 0.02), as in the paper
        if self.embed is not None:  # the projection term starts at the scale of the head, not N(0, 1)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1:] == (self.channels, self.resolution, self.resolution), x.shape
        h = self.features(x)  # [N, C', 4, 4]
        logits = self.head(h).flatten(1).squeeze(1)  # [N]
        if self.embed is not None:
            assert labels is not None, "a conditional discriminator needs labels"
            logits = logits + (self.embed(labels) * h.sum(dim=(2, 3))).sum(dim=1)
        return logits
