"""A template for a new task: copy this file, rename the class, fill in the four methods.

A task is the recipe for one kind of GAN. The trainer does everything else: devices, processes,
mixed precision, the EMA of `ema_network`, ticks and metrics.jsonl, sample grids, checkpoints
(every network in `networks` and every optimizer in `optimizers` is saved and restored), budgets
and signals. Register the task and it is available as `ganforge train my-task`.

    @TASKS.register("my-task")
    class MyTask(Task): ...
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.losses.adversarial import NonSaturatingLoss
from ganforge.registry import NETWORKS, TASKS
from ganforge.tasks.base import DataInfo, Task
from ganforge.tasks.image import make_adam


@NETWORKS.register("template.generator")
class TemplateGenerator(nn.Module):
    """z [N, z_dim] -> image [N, C, R, R]; registered so pipelines can rebuild it from config.json."""

    def __init__(self, z_dim: int = 100, channels: int = 3, resolution: int = 16) -> None:
        super().__init__()
        self.shape = (channels, resolution, resolution)
        self.net = nn.Sequential(nn.Linear(z_dim, channels * resolution**2), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.shape)


@TASKS.register("template")
class TemplateTask(Task):
    """The smallest complete task: a linear generator and discriminator on flattened images."""

    name = "template"
    loss_names = ("Loss/D/adv", "Loss/G/adv")
    ema_network = "G"  # or None for no EMA

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        pixels = data.channels * data.resolution**2
        # 1. Build networks (real tasks get them from nets/ via the MODELS registry).
        self.g_kwargs = {"z_dim": config.z_dim, "channels": data.channels, "resolution": data.resolution}
        self.G = TemplateGenerator(**self.g_kwargs)
        self.D = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 1))
        self.networks = {"G": self.G, "D": self.D}
        # 2. One optimizer per network; the trainer checkpoints them by name.
        self.optimizers = {
            "G": make_adam(self.G.parameters(), config.lr_g, (config.beta1, config.beta2)),
            "D": make_adam(self.D.parameters(), config.lr_d, (config.beta1, config.beta2)),
        }
        # 3. Losses are objects (see losses/), composed rather than branched on.
        self.loss = NonSaturatingLoss()

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        # 4. One step: use self.runtime for autocast, backward and step (it averages over processes).
        rt = self.runtime
        real = batch["image"]
        z = torch.randn(real.shape[0], self.config.z_dim, device=rt.device)
        with rt.autocast():
            fake = self.G(z)  # [N, C, H, W]
            loss_d = self.loss.d_loss(self.D(real).float(), self.D(fake.detach()).float())
        rt.backward(loss_d, self.optimizers["D"])
        rt.step(self.optimizers["D"], self.D)
        self.D.requires_grad_(False)
        with rt.autocast():
            loss_g = self.loss.g_loss(self.D(fake).float())
        rt.backward(loss_g, self.optimizers["G"])
        rt.step(self.optimizers["G"], self.G)
        self.D.requires_grad_(True)
        return {"Loss/D/adv": loss_d.detach(), "Loss/G/adv": loss_g.detach()}  # no .item(): no sync

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        return {"z": torch.randn(n, self.config.z_dim, generator=torch.Generator().manual_seed(seed))}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        z = inputs["z"].to(next(G.parameters()).device)
        return G(z)

    def export_spec(self) -> dict[str, Any]:
        # 5. How a pipeline rebuilds the inference network from a checkpoint or export.
        return {
            "pipeline": "image",
            "components": {"generator": {"class": "template.generator", "kwargs": self.g_kwargs, "network": "G"}},
            "z_dim": self.config.z_dim, "class_names": [], "resolution": self.data.resolution,
            "channels": self.data.channels,
        }
