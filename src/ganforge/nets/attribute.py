"""Networks of the attribute-editing task: pix2pix's U-Net and PatchGAN, each told the target attribute by one-hot
planes concatenated to its input (CAAE's and StarGAN's way of conditioning an encoder-decoder and its critic)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.patchgan import PatchGANDiscriminator
from ganforge.nets.unet import UNetGenerator
from ganforge.registry import NETWORKS


def label_planes(x: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """[N, C, H, W] and int64 [N] -> [N, C + classes, H, W]: the image with its label's one-hot planes."""
    planes = F.one_hot(labels.long(), classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, planes], dim=1)


@NETWORKS.register("attribute.unet")
class AttributeEditor(nn.Module):
    """(image [N, C, R, R] in [-1, 1], target attribute int64 [N]) -> the image with that attribute."""

    def __init__(self, channels: int = 3, classes: int = 6, **unet: Any) -> None:
        super().__init__()
        self.channels, self.classes = channels, classes
        self.unet = UNetGenerator(in_channels=channels + classes, out_channels=channels, **unet)

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.unet(label_planes(x, target, self.classes))


class AttributeCritic(nn.Module):
    """(image, attribute) -> PatchGAN logits: is this a real image that has this attribute?"""

    def __init__(self, channels: int, classes: int, **patchgan: Any) -> None:
        super().__init__()
        self.classes = classes
        self.patchgan = PatchGANDiscriminator(in_channels=channels + classes, **patchgan)

    def forward(self, x: torch.Tensor, attribute: torch.Tensor) -> torch.Tensor:
        return self.patchgan(label_planes(x, attribute, self.classes))
