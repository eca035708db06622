"""An emoji's gender variant (man, woman, person, or no person), read by a linear probe on the frozen alignment
evaluator's features (UnivFD's idea), so InterFaceGAN can fit gender boundaries without another backbone.

Labels come from the emoji's name: one gendered word (MAN/BOY, WOMAN/GIRL, PERSON/CHILD) makes a variant, none
makes "none", and names of several people (families, couples) are left out. Trained by
`scripts/train_gender_probe.py` on real emoji of the train split; its held-out accuracy is in the file's metadata.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
GENDER_FILE = HERE / "alignment-gender.safetensors"
GENDERS = ("none", "man", "woman", "person")
_WORDS = {"MAN": 1, "BOY": 1, "WOMAN": 2, "GIRL": 2, "PERSON": 3, "CHILD": 3}
_SEVERAL = {"MEN", "WOMEN", "PEOPLE", "FAMILY", "COUPLE", "KISS", "BABY", "HANDSHAKE", "TWO"}


def gender_label(name: str) -> int:
    """Index into GENDERS of an emoji's name ('WOMAN RAISING HAND' -> 2); -1 for several people or a baby."""
    words = re.findall(r"[A-Z]+", str(name).upper())
    if _SEVERAL & set(words):
        return -1
    found = [_WORDS[w] for w in words if w in _WORDS]
    if not found:
        return 0
    return found[0] if len(found) == 1 else -1


class GenderProbe(nn.Module):
    """A linear map of the evaluator's pooled features [N, F] to GENDERS' logits."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, len(GENDERS))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


def fit_gender_probe(features: torch.Tensor, labels: torch.Tensor, l2: float = 1e-3) -> GenderProbe:
    """Multinomial logistic regression (L-BFGS, L2), every class weighing the same; rows labelled -1 are left out."""
    keep = labels >= 0
    x, y = features[keep].float(), labels[keep].long()
    probe = GenderProbe(x.shape[1])
    mean, std = x.mean(0), x.std(0).clamp(min=1e-6)
    counts = torch.bincount(y, minlength=len(GENDERS)).float().clamp(min=1)
    weights = (counts.sum() / (len(GENDERS) * counts))
    optimiser = torch.optim.LBFGS(probe.parameters(), max_iter=500, line_search_fn="strong_wolfe")
    xn = (x - mean) / std

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(probe(xn), y, weight=weights) + l2 * probe.linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():  # fold the standardisation into the layer, so the probe reads raw features
        probe.linear.weight /= std
        probe.linear.bias -= probe.linear.weight @ mean
    return probe.eval()


def save_gender_probe(probe: GenderProbe, path: Path, metadata: dict[str, Any]) -> Path:
    from ganforge.metrics.shipped import save_shipped

    return save_shipped(probe.state_dict(), path, metadata, half=False)


@lru_cache(maxsize=2)
def load_gender_probe(path: Path = GENDER_FILE) -> tuple[GenderProbe, dict[str, str]]:
    """The shipped probe, frozen, and its metadata; a one-line error when its file is missing."""
    from ganforge.metrics.shipped import load_shipped

    state, metadata = load_shipped(path, "the gender probe", "scripts/train_gender_probe.py")
    probe = GenderProbe(state["linear.weight"].shape[1])
    probe.load_state_dict(state)
    return probe.eval().requires_grad_(False), metadata


@torch.inference_mode()
def evaluator_features(images: np.ndarray, batch: int = 128) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> the frozen alignment evaluator's pooled features [N, F]."""
    from ganforge.metrics.alignment import load_evaluator

    net, _ = load_evaluator()
    out = [net.features(torch.from_numpy(np.ascontiguousarray(images[s : s + batch])).permute(0, 3, 1, 2))
           for s in range(0, len(images), batch)]
    return torch.cat(out) if out else torch.zeros(0, net.tone_head.in_features)


@torch.inference_mode()
def gender_probabilities(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] -> [N, len(GENDERS)] probabilities."""
    probe, _ = load_gender_probe()
    return probe(evaluator_features(images)).softmax(1).numpy()
