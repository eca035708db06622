"""DiffAugment (Zhao et al., 2020): differentiable colour, translation and cutout for D's inputs.

Applied to real and generated images alike, in both phases, so gradients reach G through the
augmentation and D cannot memorise a small training set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.augment.base import AUGMENTS, Augment


def adjust_colour(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image, in [-1, 1] units."""
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translate(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size, filling with zeros (mid-grey)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gy = torch.arange(h, device=x.device)[None, :, None] + dy  # [N, H, 1]
    gx = torch.arange(w, device=x.device)[None, None, :] + dx  # [N, 1, W]
    padded = F.pad(x, (1, 1, 1, 1))  # index 0 and size+1 are the zero border
    gy = (gy + 1).clamp(0, h + 1).expand(n, h, w)
    gx = (gx + 1).clamp(0, w + 1).expand(n, h, w)
    idx = (gy * (w + 2) + gx).reshape(n, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, idx).view_as(x)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a random square of `ratio` times the image size in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() <= ch // 2) & ((xs - cx).abs() <= cw // 2)  # [N, H, W]
    return x * (~inside).unsqueeze(1).to(x.dtype)


class DiffAugment(Augment):
    """Compose the chosen policies ('color', 'translation', 'cutout')."""

    def __init__(self, policies: tuple[str, ...] = ("color", "translation", "cutout")) -> None:
        table = {"color": adjust_colour, "translation": translate, "cutout": cutout}
        unknown = [p for p in policies if p not in table]
        if unknown:
            raise ValueError(f"unknown DiffAugment policies {unknown}; choose from {sorted(table)}")
        self.ops = [table[p] for p in policies]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            x = op(x)
        return x


class ShapeDiffAugment(DiffAugment):
    """DiffAugment without its colour policy, for D's that must read colours a condition names (skin tones)."""

    def __init__(self) -> None:
        super().__init__(("translation", "cutout"))


AUGMENTS.register("diffaug")(DiffAugment)
AUGMENTS.register("diffaug-shape")(ShapeDiffAugment)
