"""Text-image alignment without CLIP (no CLIP image weights can be had offline): a small image network trained on
real emoji against the frozen sentence encoder's caption embeddings (InfoNCE), with a 9-way category head and a
skin-tone head; frozen afterwards as text2image's evaluator (the generator is never trained against it).

    net = load_evaluator()                         # the shipped weights (scripts/train_alignment.py makes them)
    r_precision(net.embed(images), captions, pool)  # the true caption ranked first among 100

R-precision follows the text-to-image papers (AttnGAN, DF-GAN): each image's own caption against 99 drawn from the
other emoji's captions, the image counted when its own scores highest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.text.encoder import EMBED_DIM

HERE = Path(__file__).resolve().parent
EVALUATOR_FILE = HERE / "alignment-emoji.safetensors"
SIDE = 64  # images are read at 64 x 64 (others resized)
TONES = ("none", "light skin tone", "medium-light skin tone", "medium skin tone", "medium-dark skin tone",
         "dark skin tone")  # "none": no tone named (the default yellow, or not a person)
WIDTHS = (32, 64, 128, 256)


def tone_label(skin_tone: str | None) -> int:
    """Index into TONES of an emoji's skin tone; -1 for mixed tones (two people), which no head is trained on."""
    if not skin_tone:
        return 0
    return TONES.index(skin_tone) if skin_tone in TONES else -1


class AlignmentNet(nn.Module):
    """uint8-range images [N, 3, H, W] -> a backbone's pooled features, read by three heads: a unit embedding in the
    sentence encoder's space, 9 category logits and 6 skin-tone logits."""

    def __init__(self, widths: Sequence[int] = WIDTHS, categories: int = 9, tones: int = len(TONES)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for w in widths:  # 64 -> 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(cin, w, 3, 2, 1), nn.BatchNorm2d(w), nn.LeakyReLU(0.2),
                       nn.Conv2d(w, w, 3, 1, 1), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)]
            cin = w
        self.backbone = nn.Sequential(*layers)
        self.embed_head = nn.Linear(cin, EMBED_DIM)
        self.category_head = nn.Linear(cin, categories)
        self.tone_head = nn.Linear(cin, tones)
        self.logit_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))  # CLIP's starting temperature

    def features(self, images_0_255: torch.Tensor) -> torch.Tensor:
        assert images_0_255.ndim == 4 and images_0_255.shape[1] == 3, images_0_255.shape  # [N, 3, H, W]
        x = images_0_255.float() / 127.5 - 1.0
        if x.shape[2:] != (SIDE, SIDE):
            x = F.interpolate(x, size=(SIDE, SIDE), mode="bilinear", align_corners=False, antialias=True)
        return self.backbone(x).mean(dim=(2, 3))  # [N, C]

    def forward(self, images_0_255: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.features(images_0_255)
        return {"embedding": F.normalize(self.embed_head(h), dim=1), "category": self.category_head(h),
                "tone": self.tone_head(h)}


@torch.inference_mode()
def evaluate_images(net: AlignmentNet, images: np.ndarray, batch_size: int = 128) -> dict[str, np.ndarray]:
    """uint8 [N, H, W, C] -> {"embedding": [N, 384], "category": [N] argmax, "tone": [N] argmax}."""
    net.eval()
    out: dict[str, list[np.ndarray]] = {"embedding": [], "category": [], "tone": []}
    for start in range(0, len(images), batch_size):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size])).permute(0, 3, 1, 2)
        if chunk.shape[1] == 1:
            chunk = chunk.expand(-1, 3, -1, -1)
        heads = net(chunk[:, :3])
        out["embedding"].append(heads["embedding"].numpy())
        out["category"].append(heads["category"].argmax(1).numpy())
        out["tone"].append(heads["tone"].argmax(1).numpy())
    return {k: np.concatenate(v) if v else np.zeros((0,)) for k, v in out.items()}


def r_precision(image_emb: np.ndarray, true_emb: np.ndarray, pool: np.ndarray, true_groups: Sequence[Any],
                pool_groups: Sequence[Any], distractors: int = 99, seed: int = 0) -> float:
    """Share of images whose own caption (true_emb[i]) scores above `distractors` captions drawn from `pool`, none
    of them of the image's own group (its emoji: its other captions would be right too)."""
    rng = np.random.default_rng(seed)
    pool_groups = np.asarray(pool_groups, dtype=object)
    hits = 0
    for i in range(len(image_emb)):
        allowed = np.flatnonzero(pool_groups != true_groups[i])
        if len(allowed) < distractors:
            raise GanforgeError(f"R-precision needs {distractors} captions of other groups, the pool has {len(allowed)}")
        chosen = pool[rng.choice(allowed, distractors, replace=False)]
        own = float(image_emb[i] @ true_emb[i])
        hits += own > float((chosen @ image_emb[i]).max())
    return hits / max(1, len(image_emb))


def save_evaluator(net: AlignmentNet, path: Path, metadata: dict[str, Any]) -> Path:
    """Weights stored in float16 (2.6 MB, half of float32: the shipped models' budget is 20 MB); read back as float32."""
    from ganforge.metrics.shipped import save_shipped

    return save_shipped(net.state_dict(), path, metadata)


def load_evaluator(path: Path = EVALUATOR_FILE) -> tuple[AlignmentNet, dict[str, str]]:
    """The frozen evaluator and its metadata (categories, what it was trained on); one-line error when missing."""
    from ganforge.metrics.shipped import load_shipped

    state, metadata = load_shipped(path, "the alignment evaluator", "scripts/train_alignment.py")
    net = AlignmentNet(categories=len(json.loads(metadata.get("categories", "[]")) or range(9)))
    net.load_state_dict(state)
    return net.eval().requires_grad_(False), metadata
