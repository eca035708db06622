"""CLIP's symmetric InfoNCE: what the alignment evaluator is trained with, and text2image's image-sentence term."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor | float,
                     same: torch.Tensor | None = None, extra_text: torch.Tensor | None = None,
                     extra_valid: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of matched pairs [N, D] (unit vectors); `logit_scale` is the log of the
    inverse temperature. `same` [N, N] bool marks pairs that match although off the diagonal (one emoji twice, one
    caption twice): left out of the negatives. `extra_text` [N, M, D]: more negatives for each image's row alone
    (hard ones, such as its caption in another skin tone), those where `extra_valid` [N, M] is False left out."""
    scale = torch.as_tensor(logit_scale, dtype=image_emb.dtype, device=image_emb.device).exp().clamp(max=100)
    logits = scale * image_emb @ text_emb.T
    if same is not None:
        logits = logits.masked_fill(same & ~torch.eye(len(logits), dtype=torch.bool, device=logits.device), -1e4)
    target = torch.arange(len(logits), device=logits.device)
    by_image = logits
    if extra_text is not None:
        extra = scale * torch.einsum("nd,nmd->nm", image_emb, extra_text.to(image_emb.dtype))
        if extra_valid is not None:
            extra = extra.masked_fill(~extra_valid, -1e4)
        by_image = torch.cat([logits, extra], dim=1)  # [N, N + M]: the true caption stays at column i
    return 0.5 * (F.cross_entropy(by_image, target) + F.cross_entropy(logits.T, target))
