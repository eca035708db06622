"""Building blocks shared by network families."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError


def log2_resolution(resolution: int, low: int, high: int, message: str) -> int:
    """log2 of a power-of-two resolution within a network family's range, else `message` as a ConfigError."""
    if resolution < low or resolution > high or resolution & (resolution - 1):
        raise ConfigError(f"{message}, got {resolution}")
    return resolution.bit_length() - 1


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (de Vries et al.; used by BigGAN)."""

    def __init__(
        self,
        num_features: int,  # channels
        num_classes: int,  # number of labels
    ) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # x: [N, C, H, W]; labels: [N] int64
        h = self.bn(x)
        return h * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


class Norm2d(nn.Module):
    """Batch norm, conditional batch norm or nothing, behind one call signature."""

    def __init__(self, kind: str, num_features: int, num_classes: int = 0) -> None:
        super().__init__()
        self.kind = kind
        if kind == "batch" and num_classes > 0:
            self.norm: nn.Module = ConditionalBatchNorm2d(num_features, num_classes)
        elif kind == "batch":
            self.norm = nn.BatchNorm2d(num_features)
        elif kind == "none":
            self.norm = nn.Identity()
        else:
            raise ValueError(f"unknown normalisation {kind!r}")
        self.conditional = kind == "batch" and num_classes > 0

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditional:
            assert labels is not None, "conditional normalisation needs labels"
            return self.norm(x, labels)
        return self.norm(x)


def projection_logits(out: torch.Tensor, label_embedding: torch.Tensor | None) -> torch.Tensor:
    """D's logits [N]: the head's output itself, or its projection onto the label's embedding (Miyato & Koyama)."""
    if label_embedding is None:
        return out.squeeze(1)  # [N, 1] -> [N]
    return (out * label_embedding).sum(dim=1) / label_embedding.shape[1] ** 0.5
