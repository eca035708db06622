"""What every discriminator augmentation offers the task: apply, observe D, adapt, and save state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ganforge.registry import Registry

AUGMENTS: Registry = Registry("augmentation")


class Augment:
    """Base and identity: D sees images as they are; nothing adapts and nothing is saved."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x  # [N, C, H, W] in [-1, 1]

    def observe(self, real_signal: torch.Tensor) -> None:
        """Called with D's per-image signal on (augmented) real images after each D step."""

    def adapt(self, images: int, all_sum: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
        """Called after each step with the global batch size; returns statistics to log."""
        return {}

    def state(self) -> dict[str, Any]:
        """JSON-able state for checkpoints."""
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what state() returned."""


AUGMENTS.register("none")(Augment)
NoAugment = Augment
