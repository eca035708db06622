"""Which face a face crop shows: the separately trained identity classifier issue 32's swap bar reads (a swapped
face must be recognised as the target identity), shipped so every machine reads faces with the same weights.

118 classes, the emoji set's face emoji (`data.builtin.faceclips`, in its order by name); input: a face aligned to an
upright 32 x 32 crop (`swap.align.align`). Trained by `scripts/train_identity_classifier.py` on faces drawn at random
poses, sizes, backgrounds and hands in both emoji styles and aligned; its accuracy on freshly drawn ones is in the
file's metadata.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.imaging import uint8_to_tensor
from ganforge.metrics.digits import conv_classifier, fit_classifier

HERE = Path(__file__).resolve().parent
IDENTITY_FILE = HERE / "identity-faces.safetensors"
SIDE = 32  # aligned crops are read at 32 x 32


def as_input(crops: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] or float [N, 3, H, W] in 0..1 -> the classifier's [N, 3, 32, 32] in [-1, 1]."""
    x = uint8_to_tensor(crops) if isinstance(crops, np.ndarray) else crops.float() * 2 - 1
    if x.shape[-1] != SIDE or x.shape[-2] != SIDE:
        x = F.interpolate(x, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
    return x


def train_identity_classifier(crops: torch.Tensor, labels: torch.Tensor, classes: int, epochs: int = 6,
                              seed: int = 0) -> nn.Module:
    """`fit_classifier` of the colour network over crops [N, 3, 32, 32] in 0..1."""
    return fit_classifier(lambda: conv_classifier(3, classes), crops, labels, as_input, epochs, seed)


def save_identity_classifier(net: nn.Module, path: Path, metadata: dict[str, Any]) -> Path:
    from ganforge.metrics.shipped import save_shipped

    return save_shipped(net.state_dict(), path, metadata)


@lru_cache(maxsize=2)
def load_identity_classifier(path: Path = IDENTITY_FILE) -> tuple[nn.Sequential, dict[str, str]]:
    """The shipped classifier, frozen, and its metadata; a one-line error when its file is missing."""
    import json

    from ganforge.metrics.shipped import load_shipped

    state, metadata = load_shipped(path, "the face-identity classifier", "scripts/train_identity_classifier.py")
    net = conv_classifier(3, int(json.loads(metadata.get("classes", "118"))))
    net.load_state_dict(state)
    return net.eval().requires_grad_(False), metadata


@torch.no_grad()
def identity_probabilities(crops: torch.Tensor | np.ndarray, net: nn.Module | None = None,
                           batch: int = 500) -> torch.Tensor:
    """[N, classes] probabilities for aligned face crops (uint8 [N, H, W, 3] or float [N, 3, H, W] in 0..1)."""
    net = net if net is not None else load_identity_classifier()[0]
    x = as_input(crops)
    return torch.cat([F.softmax(net(b), 1) for b in x.split(batch)])
