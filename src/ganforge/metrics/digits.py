"""A small mnist digit classifier, shipped: it labels generated digits (coverage, InterFaceGAN's digit boundaries)
and scores digit edits, so every machine reads digits with the same weights.

Trained by `scripts/train_digit_classifier.py` on the train split of the built-in mnist at 32 px (the fixed, seeded
10% test split held out); its accuracy on that test split is in the file's metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.imaging import luma

HERE = Path(__file__).resolve().parent
DIGITS_FILE = HERE / "digits-mnist.safetensors"
SIDE = 32  # the classifier reads [N, 1, 32, 32] in [-1, 1]
CONFIDENT = 0.9  # a sample counts as a digit when the classifier's top probability exceeds this
COVERED_SHARE = 0.02  # a digit is covered when it takes at least this share of the confident samples


def conv_classifier(channels: int = 1, classes: int = 10) -> nn.Sequential:
    """Three conv + pool stages and two linear layers over [N, channels, 32, 32]: about 98% on held-out mnist (the
    face-identity classifier is the same network on colour crops)."""
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 16, 128), nn.ReLU(), nn.Linear(128, classes),
    )


def digit_classifier() -> nn.Sequential:
    """The digit classifier's network: grey 32 x 32 in, ten digits out."""
    return conv_classifier(1, 10)


def as_input(images: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> the classifier's grey 32 x 32 input (luma for colour)."""
    images = luma(images)
    if images.shape[-1] != SIDE or images.shape[-2] != SIDE:
        images = F.interpolate(images.float(), size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
    return images.float().clamp(-1, 1)


def fit_classifier(make_net: Callable[[], nn.Module], images: torch.Tensor | None, labels: torch.Tensor | None,
                   read: Callable[[torch.Tensor], torch.Tensor], epochs: int, seed: int,
                   loss_of: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                   epoch_data: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None,
                   cosine: bool = False) -> nn.Module:
    """The shipped networks' training (digits, face identities, the swap's identity encoder and face finder): Adam
    at 1e-3, batch 64, `epochs` seeded passes; `read` turns a batch of `images` into the network's input;
    `loss_of(net, x, labels)` replaces cross-entropy on `net(x)` (ArcFace's margin, a pose regression);
    `epoch_data(epoch)` gives each pass fresh (images, labels) instead; `cosine` anneals the rate to 0."""
    torch.manual_seed(seed)
    net = make_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs) if cosine else None
    order = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        inputs, targets = (images, labels) if epoch_data is None else epoch_data(epoch)
        for batch in torch.randperm(len(inputs), generator=order).split(64):
            x, y = read(inputs[batch]), targets[batch]
            loss = F.cross_entropy(net(x), y) if loss_of is None else loss_of(net, x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if schedule is not None:
            schedule.step()
    return net.eval()


def train_digit_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 4, seed: int = 0) -> nn.Module:
    """`fit_classifier` of the digit network over images [N, 1, 32, 32] in [-1, 1]."""
    return fit_classifier(digit_classifier, images, labels, as_input, epochs, seed)


def save_digit_classifier(net: nn.Module, path: Path, metadata: dict[str, Any]) -> Path:
    """Weights in float16 (0.4 MB: the shipped models share a 20 MB budget), read back as float32."""
    from ganforge.metrics.shipped import save_shipped

    return save_shipped(net.state_dict(), path, metadata)


@lru_cache(maxsize=2)
def load_digit_classifier(path: Path = DIGITS_FILE) -> tuple[nn.Sequential, dict[str, str]]:
    """The shipped classifier, frozen, and its metadata; a one-line error when its file is missing."""
    from ganforge.metrics.shipped import load_shipped

    state, metadata = load_shipped(path, "the digit classifier", "scripts/train_digit_classifier.py")
    net = digit_classifier()
    net.load_state_dict(state)
    return net.eval().requires_grad_(False), metadata


@torch.no_grad()
def digit_probabilities(images: torch.Tensor | np.ndarray, net: nn.Module | None = None,
                        batch: int = 500) -> torch.Tensor:
    """[N, 10] probabilities for images: a tensor [N, C, H, W] in [-1, 1] or uint8 [N, H, W(, C)]."""
    if isinstance(images, np.ndarray):
        from ganforge.imaging import uint8_to_tensor

        array = images if images.ndim == 4 else images[..., None]
        images = uint8_to_tensor(array)
    net = net if net is not None else load_digit_classifier()[0]
    return torch.cat([F.softmax(net(as_input(b)), 1) for b in images.split(batch)]) if len(images) else \
        torch.zeros(0, 10)


def digit_coverage(probabilities: torch.Tensor) -> dict[str, Any]:
    """Which digits samples are: the confident share, the histogram of confident classes, its entropy (nats;
    ln 10 = 2.303 for all ten equally) and how many digits take at least COVERED_SHARE of them."""
    confidence, classes = probabilities.max(1)
    hist = torch.bincount(classes[confidence > CONFIDENT], minlength=10)
    share = hist.float() / max(int(hist.sum()), 1)
    entropy = -float((share[share > 0] * share[share > 0].log()).sum())
    return {"n": len(probabilities), "confident": round(float((confidence > CONFIDENT).float().mean()), 4),
            "histogram": hist.tolist(), "entropy_nats": round(entropy, 3),
            "digits_covered": int((share >= COVERED_SHARE).sum())}
