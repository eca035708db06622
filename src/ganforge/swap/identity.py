"""The swap's identity encoder: which face a crop shows, as a unit vector, for faces it has never seen too.

SimSwap reads the target identity with ArcFace; no face model can be had here, so this one is trained on the emoji
faces of the training split (the held-out tenth never), with ArcFace's angular margin, by
`scripts/train_identity_encoder.py`, and shipped. It is the network of the identity classifier that measures swaps
(`metrics.identity`), but trained apart, with another loss and without the held-out faces, so the measure is not
the thing trained against.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.losses.arcface import ArcFaceHead
from ganforge.metrics.digits import conv_classifier, fit_classifier
from ganforge.metrics.identity import as_input
from ganforge.registry import NETWORKS

HERE = Path(__file__).resolve().parent
ENCODER_FILE = HERE / "identity-encoder.safetensors"
EMBED_DIM = 128


@NETWORKS.register("swap.identity_encoder")
class IdentityEncoder(nn.Sequential):
    """Aligned face crops float [N, 3, H, W] in [-1, 1] -> unit embeddings [N, D] (differentiable: the swap's identity
    loss backpropagates through it); the identity classifier's layers, read as an embedding."""

    def __init__(self, embed_dim: int = EMBED_DIM) -> None:
        super().__init__(*conv_classifier(3, embed_dim))
        self.embed_dim = embed_dim

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return F.normalize(super().forward(as_input((crops.float() + 1) / 2)), dim=1)


class _EncoderWithHead(nn.Module):
    def __init__(self, classes: int, embed_dim: int) -> None:
        super().__init__()
        self.encoder, self.head = IdentityEncoder(embed_dim), ArcFaceHead(embed_dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


def train_identity_encoder(crops: torch.Tensor, labels: torch.Tensor, classes: int, epochs: int = 6,
                           seed: int = 0, embed_dim: int = EMBED_DIM) -> IdentityEncoder:
    """`fit_classifier` with ArcFace's margin over crops float [N, 3, H, W] in 0..1: the encoder, without its head."""
    def margin_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return net.head(net(x), y)

    trained = fit_classifier(lambda: _EncoderWithHead(classes, embed_dim), crops, labels, lambda x: x * 2 - 1,
                             epochs, seed, loss_of=margin_loss)
    return trained.encoder.eval()


def save_identity_encoder(net: nn.Module, path: Path, metadata: dict[str, Any]) -> Path:
    from ganforge.metrics.shipped import save_shipped

    return save_shipped(net.state_dict(), path, {**metadata, "embed_dim": getattr(net, "embed_dim", EMBED_DIM)})


@lru_cache(maxsize=2)
def load_identity_encoder(path: Path = ENCODER_FILE) -> IdentityEncoder:
    """The shipped encoder, frozen; a one-line error when its file is missing."""
    import json

    from ganforge.metrics.shipped import load_shipped

    state, metadata = load_shipped(path, "the swap's identity encoder", "scripts/train_identity_encoder.py")
    net = IdentityEncoder(int(json.loads(metadata.get("embed_dim", str(EMBED_DIM)))))
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)
