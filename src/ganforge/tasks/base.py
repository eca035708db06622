"""The Task protocol: the recipe for one kind of GAN, plugged into the one trainer.

A task builds its networks, optimizers and losses from the config, and declares its step as phases that
engine/phases.py runs from `train_step`. It never writes files, moves devices or counts time: the trainer does
(see tasks/template/).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.config import TrainConfig


@dataclass
class DataInfo:
    """What a task needs to know about its data to size its networks (saved as the run's data.json)."""

    name: str
    resolution: int
    channels: int  # channels of the images the generator makes (translation: the target side)
    count: int  # training items (translation: pairs, or the larger domain)
    class_names: list[str] = field(default_factory=list)
    in_channels: int | None = None  # translation: channels of the input side (A)
    num_labels: int | None = None  # translation: the input is a label map with ids 0..num_labels-1
    counts: dict[str, int] = field(default_factory=dict)  # items per training array, e.g. {"A": 90, "B": 80}
    frames: int | None = None  # video tasks: frames per training clip (None: still images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class TrainData:
    """What a task's `load_data` hands the trainer: named uint8 arrays and how to draw batches from them.

    The image task has one array, "image"; translation tasks have "A" and "B". Arrays whose names are in
    `integer_keys` (label maps) reach `train_step` as int64 [N, H, W] ids; the others as float
    [N, C, H, W] in [-1, 1]. With `paired`, all arrays share one order (item i of each goes together);
    otherwise each is drawn in its own seeded order (unpaired domains of any sizes).
    """

    arrays: dict[str, np.ndarray]  # name -> uint8 [N, H, W, C], or clips [N, T, H, W, C] (float [N, T, C, H, W])
    info: DataInfo
    labels: np.ndarray | None = None  # int64 [N] class labels of a paired set, or None
    paired: bool = True
    integer_keys: tuple[str, ...] = ()


def train_split_data(config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
    """One image dataset's train split (data/split.py holds the test split out): for tasks measured on held-out
    images of the same set (inpaint, the inversion encoder)."""
    from ganforge.data.split import resolve_split_images

    dataset, images = resolve_split_images(config.data, config.resolution, split="train", strict=config.strict,
                                           progress=progress)
    info = DataInfo(name=str(dataset.meta.get("name", config.data)), resolution=dataset.resolution,
                    channels=dataset.channels, count=len(images), counts={"image": len(images)})
    return TrainData(arrays={"image": images}, info=info, paired=True)


def batch_positions(step: int, global_batch: int, rank: int, world_size: int) -> range:
    """Global positions of this process's items in step `step`'s batch: item i of its share is at
    step * global_batch + rank + i * world_size (how the trainer's BatchStream deals out the batch). Per-item
    randomness seeded by this position is a pure function of (seed, step, i), whatever the number of processes."""
    start = step * global_batch
    return range(start + rank, start + global_batch, world_size)


class Task(ABC):
    """Base class of every task. Subclasses set `networks`, `optimizers` and implement the step."""

    name: str = "task"
    loss_names: tuple[str, ...] = ()  # the statistics train_step returns, e.g. "Loss/D/adv"
    ema_network: str | None = "G"  # the trainer keeps an EMA copy of this network, if any
    grid_columns: int | None = None  # images per row of the sample grids (None: square)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        self.config = config
        self.data = data
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.runtime: Any = None  # set by the trainer: device, autocast, backward, step

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        """The training data for `config`: one image dataset (folder, zip, prepared set or built-in).

        Tasks that train on something else (pairs, two domains) override this; it runs before the task
        is built, so the networks can be sized from the returned DataInfo.
        """
        from ganforge.data import resolve_dataset

        dataset = resolve_dataset(config.data, config.resolution, strict=config.strict, progress=progress)
        info = DataInfo(
            name=str(dataset.meta.get("name", config.data)), resolution=dataset.resolution,
            channels=dataset.channels, count=len(dataset), class_names=list(dataset.class_names),
        )
        return TrainData(arrays={"image": dataset.images}, info=info,
                         labels=dataset.labels if getattr(config, "cond", False) else None)

    def attach(self, runtime: Any) -> None:
        """Called once by the trainer after it has placed the networks on their device."""
        self.runtime = runtime

    def start_fresh(self) -> None:
        """Called once, right after the task is built, for a run that starts from scratch (never on resume, whose
        checkpoint overwrites the weights) and before the EMA copy is made: load starting weights from
        elsewhere here (superres's `--init RUN`), so a resumed run does not depend on that source any more."""
        return None

    def adversarial_at(self, step: int) -> bool:
        """True once `--pretrain-kimg` of pixel-loss pre-training is over (by images shown before this step) and
        the adversarial term is on: for tasks whose generator first learns a pixel loss alone (superres, nextframe)."""
        cfg = self.config
        return bool(cfg.adv_weight) and step * cfg.batch >= (cfg.pretrain_kimg or 0.0) * 1000

    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        """Called once by the trainer with the training arrays (uint8 [N, C, H, W]); tasks whose sample
        grids show real inputs (translation) keep them for `fixed_inputs`. Never used for training."""
        return None

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
