"""Networks of the attribute-editing task: pix2pix's U-Net and PatchGAN, each told the target attribute by one-hot
planes concatenated to its input (CAAE's and StarGAN's way of conditioning an encoder-decoder and its critic); and
CAAE's bottleneck editor, whose encoder keeps only a small style code and whose decoder draws it with the target."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.nets.patchgan import PatchGANDiscriminator
from ganforge.nets.unet import UNetGenerator
from ganforge.registry import NETWORKS


def label_planes(x: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """[N, C, H, W] and int64 [N] -> [N, C + classes, H, W]: the image with its label's one-hot planes."""
    planes = F.one_hot(labels.long(), classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, planes], dim=1)


@NETWORKS.register("attribute.unet")
class AttributeEditor(nn.Module):
    """(image [N, C, R, R] in [-1, 1], target attribute int64 [N]) -> the image with that attribute.

    With `composite` (GANimation's attention), the U-Net draws colours and a mask in [0, 1] beside them, and the output
    is mask * colours + (1 - mask) * input: what the attribute does not touch is passed through, not redrawn."""

    def __init__(self, channels: int = 3, classes: int = 6, composite: bool = False, **unet: Any) -> None:
        super().__init__()
        self.channels, self.classes, self.composite = channels, classes, composite
        self.unet = UNetGenerator(in_channels=channels + classes, out_channels=channels + int(composite), **unet)

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = self.unet(label_planes(x, target, self.classes))  # in [-1, 1] (tanh)
        if not self.composite:
            return out
        mask = (out[:, self.channels :] + 1) / 2
        return mask * out[:, : self.channels] + (1 - mask) * x

    def mask(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """[N, 1, R, R] in [0, 1]: where a composite editor redraws (ones everywhere without `composite`)."""
        if not self.composite:
            return torch.ones_like(x[:, :1])
        return (self.unet(label_planes(x, target, self.classes))[:, self.channels :] + 1) / 2


@NETWORKS.register("attribute.caae")
class BottleneckEditor(nn.Module):
    """(image, target attribute) -> the image with that attribute, through CAAE's bottleneck (Zhang et al. 2017).

    DCGAN's strided trunk reads the image into a `z_dim` code in [-1, 1] (tanh, as CAAE's); DCGAN's generator draws
    the code with the target's one-hot label (and class-conditional batch norm). No skip connections: the source's
    attribute cannot pass around the code, and the label, given separately, leaves the code the rest to carry (a
    digit's slant and thickness). The U-Net editor suits local colour changes, this one shape changes."""

    def __init__(self, channels: int = 1, classes: int = 10, resolution: int = 32, width: int = 32,
                 z_dim: int = 16) -> None:
        super().__init__()
        self.channels, self.classes, self.composite = channels, classes, False
        self.encoder = DCGANDiscriminator(resolution, channels, width, norm="batch").features
        last = [m for m in self.encoder if isinstance(m, nn.Conv2d)][-1].out_channels
        self.to_code = nn.Linear(last * 16, z_dim)  # the trunk ends at 4 x 4
        self.decoder = DCGANGenerator(resolution, channels, z_dim, width, num_classes=classes)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[N, z_dim] in [-1, 1]: the style code."""
        return torch.tanh(self.to_code(self.encoder(x).flatten(1)))

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x), target.long())

    def mask(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Ones: the whole image is redrawn."""
        return torch.ones_like(x[:, :1])


class AttributeCritic(nn.Module):
    """(image, attribute) -> PatchGAN logits: is this a real image that has this attribute? Beside them, StarGAN's
    auxiliary classifier reads the attribute from the image alone (the image with zero planes), pooled over the last
    features: what makes G's edits show the target even where no counterfactual says how."""

    def __init__(self, channels: int, classes: int, **patchgan: Any) -> None:
        super().__init__()
        self.classes = classes
        self.patchgan = PatchGANDiscriminator(in_channels=channels + classes, **patchgan)
        last = self.patchgan.blocks[-1][0]
        self.classifier = nn.Linear(getattr(last, "out_channels", None) or last.module.out_channels, classes)

    def forward(self, x: torch.Tensor, attribute: torch.Tensor) -> torch.Tensor:
        return self.patchgan(label_planes(x, attribute, self.classes))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """[N, classes] logits of the attribute the image shows."""
        planes = torch.zeros(x.shape[0], self.classes, *x.shape[2:], dtype=x.dtype, device=x.device)
        _, features = self.patchgan(torch.cat([x, planes], dim=1), return_features=True)
        return self.classifier(features[-1].mean(dim=(2, 3)))
