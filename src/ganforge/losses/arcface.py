"""ArcFace's additive angular margin (Deng et al., 2019): embeddings of one identity pulled within a margin of its
class centre on the unit sphere, so that identities are told apart by angle (what the swap's identity encoder, and
the identity loss on its embeddings, rely on)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ArcFaceHead(nn.Module):
    """Class centres on the unit sphere; `forward(embeddings, labels)` is the margin loss (scale `s`, margin `m`)."""

    def __init__(self, embed_dim: int, classes: int, scale: float = 30.0, margin: float = 0.3) -> None:
        super().__init__()
        self.centres = nn.Parameter(torch.randn(classes, embed_dim) / embed_dim**0.5)
        self.scale, self.margin = scale, margin

    def cosines(self, embeddings: torch.Tensor) -> torch.Tensor:
        """[N, classes]: cosine of each embedding with each class centre."""
        return F.normalize(embeddings.float(), dim=1) @ F.normalize(self.centres.float(), dim=1).t()

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.cosines(embeddings).clamp(-1 + 1e-6, 1 - 1e-6)
        true = cos.gather(1, labels[:, None])
        theta = torch.acos(true)
        # cos(theta + m) on the true class; past pi - m it would rise again, so ArcFace's linear fallback there
        target = torch.where(theta + self.margin < math.pi, torch.cos(theta + self.margin),
                             true - self.margin * math.sin(self.margin))
        logits = cos.scatter(1, labels[:, None], target) * self.scale
        return F.cross_entropy(logits, labels)
