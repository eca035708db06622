"""The Task protocol: the recipe for one kind of GAN, plugged into the one trainer.

A task builds its networks, optimizers and losses from the config, and implements `train_step`.
It never writes files, moves devices or counts time: the trainer does (see tasks/template.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig


@dataclass
class DataInfo:
    """What a task needs to know about its data to size its networks."""

    name: str
    resolution: int
    channels: int
    count: int
    class_names: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


class Task(ABC):
    """Base class of every task. Subclasses set `networks`, `optimizers` and implement the step."""

    name: str = "task"
    loss_names: tuple[str, ...] = ()  # the statistics train_step returns, e.g. "Loss/D/adv"
    ema_network: str | None = "G"  # the trainer keeps an EMA copy of this network, if any

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        self.config = config
        self.data = data
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.runtime: Any = None  # set by the trainer: device, autocast, backward, step

    def attach(self, runtime: Any) -> None:
        """Called once by the trainer after it has placed the networks on their device."""
        self.runtime = runtime

    def extra_state(self) -> dict[str, Any]:
        """JSON-able or tensor state beyond networks and optimizers (e.g. an ADA probability)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what extra_state() returned, on resume; a task without extra state has nothing to do."""
        return None

    @abstractmethod
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One optimisation step on `batch`; returns detached scalar statistics by slash name."""

    @abstractmethod
    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """Inputs for the sample grids, the same through the whole run (and across resumes)."""

    @abstractmethod
    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Images [N, C, H, W] in [-1, 1] for a grid, from `networks` (which includes the EMA copy)."""

    @abstractmethod
    def export_spec(self) -> dict[str, Any]:
        """What a pipeline needs to rebuild the inference network: pipeline name and components."""
