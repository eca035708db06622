"""The template task's Task: a linear generator and discriminator, the step declared as two phases.

A task is the recipe for one kind of GAN; the trainer does everything else: devices, processes, mixed precision,
the EMA of `ema_network`, ticks and metrics.jsonl, sample grids, checkpoints (every network in `networks` and
every optimizer in `optimizers` is saved and restored), budgets and signals.

To change in a copy: the class names and their registrations (`TASKS.register("my_task")`, the task's name: its
folder's; `NETWORKS.register("my_task.generator")`, the name model.json gives the network), then the steps below:
the networks and their optimizers, the phases and their losses, `loss_names`, `fixed_inputs`/`visuals` (the
sample grids) and `export_spec` (its "pipeline": your pipeline's registered name, "image" to reuse the image one).
A task that trains on something other than one image set overrides `load_data` (tasks/pix2pix, tasks/cyclegan);
one with state beyond networks and optimizers returns it from `extra_state` (tasks/base.py).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.losses.adversarial import NonSaturatingLoss
from ganforge.registry import NETWORKS, TASKS
from ganforge.tasks.base import DataInfo, Task
from ganforge.tasks.image.task import make_adam


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
        # 4. The step as phases (engine/phases.py): each names its optimizer, the networks it trains and freezes, an
        # interval for lazy regularisers and its loss terms. The runner does autocast, freezing, backward, the
        # optimizer step (averaged over processes, skipped when not finite), buffer sync; in the order listed.
        self.runner = PhaseRunner(self, forward=self._generate, sync=(self.G, self.D), phases=[
            Phase("Dmain", "D", self.D, loss=self._d_loss),
            Phase("Gmain", "G", self.G, loss=self._g_loss, frozen=(self.D,)),
        ])

    def _generate(self, ctx: StepContext) -> None:
        # Generate once, under autocast: D's phase sees a detached copy, G's phase reuses the graph.
        ctx.fake = self.G(torch.randn(ctx.real.shape[0], self.config.z_dim, device=self.runtime.device))  # [N, C, H, W]

    def _d_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = self.loss.d_loss(self.D(ctx.real).float(), self.D(ctx.fake.detach()).float())
        return loss, {"Loss/D/adv": loss.detach()}  # (the loss to minimise, statistics: no .item(), no sync)

    def _g_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = self.loss.g_loss(self.D(ctx.fake).float())
        return loss, {"Loss/G/adv": loss.detach()}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        # 5. One step: the batch and step index in a context the phases share; the runner returns their statistics.
        return self.runner.run(StepContext(step, real=batch["image"]))

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        return {"z": torch.randn(n, self.config.z_dim, generator=torch.Generator().manual_seed(seed))}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        z = inputs["z"].to(next(G.parameters()).device)
        return G(z)

    def export_spec(self) -> dict[str, Any]:
        # 6. How a pipeline rebuilds the inference network from a checkpoint or export (the run's model.json):
        # "pipeline" names the registered pipeline (PIPELINES), whose evaluator and sampler are found by that name.
        return {
            "pipeline": "image",
            "components": {"generator": {"class": "template.generator", "kwargs": self.g_kwargs, "network": "G"}},
            "z_dim": self.config.z_dim, "class_names": [], "resolution": self.data.resolution,
            "channels": self.data.channels,
        }
