"""DF-GAN (Tao et al., 2022): a one-stage text-to-image generator that fuses the sentence into every block through
text-conditioned affine transforms, and a discriminator whose head judges an image together with a sentence.

Generator: z -> 4x4 (8 * width channels), then one block per doubling (nearest upsampling; a residual of two
fusion blocks and 3x3 convolutions; a 1x1 shortcut where the width changes), then LeakyReLU and a 3x3 conv (linear:
no tanh, see DFGANGenerator). Each
fusion block is affine(cond) -> LeakyReLU -> affine(cond) -> LeakyReLU, the affines' scale and shift predicted by
two-layer MLPs from [z, sentence] (scale starting at 1, shift at 0). Discriminator: 3x3 conv, then downsampling
residual blocks (4x4 stride-2 and 3x3 convs, an average-pooled 1x1 shortcut, the residual scaled by a learned gamma
starting at 0) to 4x4 features, and a head over [features, sentence tiled 4x4]. Widths follow the paper's code:
width * min(2^i, 8). With `embed_dim` D also has XMC-GAN's (Zhang et al., 2021) contrastive heads: its 4x4 features
and the sentence, each projected to a shared space, where matching pairs are to be nearest.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.registry import NETWORKS


def level_widths(width: int, resolution: int) -> list[int]:
    """Channels at 4x4, 8x8, ..., resolution: width * min(2^i, 8), widest first (DF-GAN's get_G_in_out_chs)."""
    levels = int(math.log2(resolution)) - 1
    return [width * min(2**i, 8) for i in range(levels)][::-1]


def sentence_condition(unit: torch.Tensor) -> torch.Tensor:
    """What G and D take for a sentence: its unit embedding [N, D] scaled by sqrt(D), to about unit variance per
    component as z has (unscaled, a 384-d unit vector's components, about 0.05, vanish beside z's in the affines'
    input and D's head); the matching-aware penalty's gradient is taken with respect to this."""
    return unit * math.sqrt(unit.shape[1])


def check_resolution(resolution: int) -> None:
    if resolution < 8 or resolution & (resolution - 1):
        raise ValueError(f"DF-GAN needs a power-of-two resolution of at least 8, got {resolution}")


class TextAffine(nn.Module):
    """x * gamma(c) + beta(c), per channel; gamma starts at 1 and beta at 0 (the last layers' weights are zero)."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Sequential(nn.Linear(cond_dim, channels), nn.ReLU(), nn.Linear(channels, channels))
        self.beta = nn.Sequential(nn.Linear(cond_dim, channels), nn.ReLU(), nn.Linear(channels, channels))
        for head, bias in ((self.gamma[2], 1.0), (self.beta[2], 0.0)):
            nn.init.zeros_(head.weight)
            nn.init.constant_(head.bias, bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:  # x [N, C, H, W], cond [N, D]
        return x * self.gamma(cond)[:, :, None, None] + self.beta(cond)[:, :, None, None]


class FusionBlock(nn.Module):
    """DF-GAN's DFBLK: two text affines, each followed by LeakyReLU(0.2)."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.affine0, self.affine1 = TextAffine(cond_dim, channels), TextAffine(cond_dim, channels)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.affine0(x, cond), 0.2)
        return F.leaky_relu(self.affine1(x, cond), 0.2)


class UpBlock(nn.Module):
    """Nearest x2 upsampling, then shortcut + (fuse, 3x3 conv, fuse, 3x3 conv)."""

    def __init__(self, cond_dim: int, in_ch: int, out_ch: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.fuse1, self.conv1 = FusionBlock(cond_dim, in_ch), nn.Conv2d(in_ch, out_ch, 3, 1, 1)
        self.fuse2, self.conv2 = FusionBlock(cond_dim, out_ch), nn.Conv2d(out_ch, out_ch, 3, 1, 1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv1(self.fuse1(x, cond))
        h = self.conv2(self.fuse2(h, cond))
        return self.shortcut(x) + h


@NETWORKS.register("dfgan.generator")
class DFGANGenerator(nn.Module):
    """(z [N, z_dim], sentence [N, text_dim] as `sentence_condition` makes it) -> images [N, channels, R, R], about
    [-1, 1]. The output is linear, as StyleGAN2's and GALIP's (DF-GAN's code ends in tanh): emoji backgrounds are
    exactly white, +1, which tanh reaches only at infinity; with it our first emoji run's pre-activations grew to about
    110 and every image was white, with no gradient left, by 10 kimg."""

    def __init__(self,
                 resolution: int = 64,  # power of two, at least 8
                 channels: int = 3,  # of the images made
                 z_dim: int = 100,  # DF-GAN's noise size
                 text_dim: int = 384,  # the sentence embedding's size (all-MiniLM-L6-v2: 384)
                 width: int = 32) -> None:  # the paper's ngf (CUB: 32)
        super().__init__()
        check_resolution(resolution)
        self.z_dim, self.text_dim, self.resolution = z_dim, text_dim, resolution
        widths = level_widths(width, resolution)
        cond_dim = z_dim + text_dim
        self.fc = nn.Linear(z_dim, widths[0] * 16)
        self.blocks = nn.ModuleList(UpBlock(cond_dim, a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.to_rgb = nn.Conv2d(widths[-1], channels, 3, 1, 1)
        self.start_channels = widths[0]

    def forward(self, z: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        cond = torch.cat([z, sentence.to(z.dtype)], dim=1)  # [N, z_dim + text_dim]
        x = self.fc(z).view(z.shape[0], self.start_channels, 4, 4)
        for block in self.blocks:
            x = block(x, cond)
        return self.to_rgb(F.leaky_relu(x, 0.2))  # [N, C, R, R]; no tanh (see the class doc); sampling clamps


class DownBlock(nn.Module):
    """avgpool(1x1 shortcut) + gamma * (4x4 stride-2 conv, LeakyReLU, 3x3 conv, LeakyReLU); gamma starts at 0."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False), nn.LeakyReLU(0.2))
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.shortcut(x), 2) + self.gamma * self.residual(x)


@NETWORKS.register("dfgan.discriminator")
class DFGANDiscriminator(nn.Module):
    """`features(x)` [N, 8 * width, 4, 4] once per image, `judge(features, sentence)` [N] logits; D(x, s) both;
    `embed(features, sentence)`: unit vectors of both in the contrastive space (when `embed_dim` > 0)."""

    def __init__(self, resolution: int = 64, channels: int = 3, text_dim: int = 384, width: int = 32,
                 embed_dim: int = 0) -> None:
        super().__init__()
        check_resolution(resolution)
        widths = level_widths(width, resolution)[::-1]  # narrowest first
        self.stem = nn.Conv2d(channels, widths[0], 3, 1, 1)
        self.blocks = nn.Sequential(*(DownBlock(a, b) for a, b in zip(widths[:-1], widths[1:])))
        self.head = nn.Sequential(
            nn.Conv2d(widths[-1] + text_dim, 2 * width, 3, 1, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 1, 4, 1, 0, bias=False))
        self.embed_dim = embed_dim
        if embed_dim:
            self.image_embed = nn.Linear(widths[-1] * 16, embed_dim)
            self.text_embed = nn.Linear(text_dim, embed_dim)

    def embed(self, features: torch.Tensor, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit vectors [N, embed_dim] of the images' 4x4 features and of the sentences."""
        if not self.embed_dim:
            raise RuntimeError("this discriminator was built without contrastive heads (embed_dim 0)")
        image = F.normalize(self.image_embed(features.flatten(1)).float(), dim=1)
        return image, self.embed_text(sentence.to(features.dtype))

    def embed_text(self, sentence: torch.Tensor) -> torch.Tensor:
        """Unit vectors [..., embed_dim] of sentences [..., text_dim] in the contrastive space."""
        return F.normalize(self.text_embed(sentence).float(), dim=-1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))  # [N, 8 * width, 4, 4]

    def judge(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        tiled = sentence.to(features.dtype)[:, :, None, None].expand(-1, -1, *features.shape[2:])
        return self.head(torch.cat([features, tiled], dim=1)).flatten()  # [N]

    def forward(self, x: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        return self.judge(self.features(x), sentence)
