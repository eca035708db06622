"""CLIP's symmetric InfoNCE: what the alignment evaluator is trained with, and text2image's image-sentence term."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor | float,
                     same: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of matched pairs [N, D] (unit vectors); `logit_scale` is the log of the
    inverse temperature. `same` [N, N] bool marks pairs that match although off the diagonal (one emoji twice, one
    caption twice): left out of the negatives."""
    scale = torch.as_tensor(logit_scale, dtype=image_emb.dtype, device=image_emb.device)
    logits = scale.exp().clamp(max=100) * image_emb @ text_emb.T
    if same is not None:
        logits = logits.masked_fill(same & ~torch.eye(len(logits), dtype=torch.bool, device=logits.device), -1e4)
    target = torch.arange(len(logits), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
