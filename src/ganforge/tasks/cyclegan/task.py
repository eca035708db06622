"""Task `cyclegan`: unpaired image-to-image translation (Zhu et al., 2017).

Two ResNet generators, G_AB: A -> B and G_BA: B -> A, and two PatchGAN discriminators, D_A on domain A
and D_B on domain B (instance norm throughout, as the paper's code). Per step, as in the authors' code:

- generators (both discriminators frozen): MSE(D_B(G_AB(a)), 1) + MSE(D_A(G_BA(b)), 1) (LSGAN, unhalved), plus
  `--cycle-weight` (10) x (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|), plus the identity term
  `--identity-weight` (0.5) x `--cycle-weight` x (|G_AB(b) - b| + |G_BA(a) - a|);
- discriminators: LSGAN on real images against fakes drawn through a history pool each, of `--pool-size`
  (50) batches: the paper's pool of 50 images at its batch size of 1 is 50 steps of history, and so is
  this one at any batch (3,200 images at batch 64, kept in float16: tasks/cyclegan/image_pool.py).

Learning rates stay constant for the first half of the `--kimg` budget and fall linearly to 0 over the
second (`--lr-decay-start 0.5`, applied by the trainer). The pools' images and random state are part of
the checkpoint, so a resumed run continues exactly. Data: `resolve_unpaired(--data, split="train",
direction=--direction, data_b=--data-b)`; each domain's held-out 10% is never loaded here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.errors import ConfigError
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.losses.reconstruction import cycle_loss, identity_loss
from ganforge.nets.patchgan import PatchGANDiscriminator
from ganforge.nets.resnet_gen import ResnetGenerator
from ganforge.registry import LOSSES, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.cyclegan.image_pool import ImagePool, history_size
from ganforge.tasks.image.task import gan_optimizers
from ganforge.tasks.translation.base import (
    GRID_ROWS,
    check_discriminator_fits,
    interleave_rows,
    pick_fixed,
    to_display,
    uint8_input,
)

CYCLEGAN_LOSSES = ("lsgan", "ns", "hinge")


@TASKS.register("cyclegan")
class CycleGANTask(Task):
    """G_AB and G_BA with cycle consistency, each against its own PatchGAN, without paired data."""

    name = "cyclegan"
    loss_names = ("Loss/D/adv", "Loss/G/adv", "Loss/G/cycle", "Loss/G/identity", "Loss/D_A/adv", "Loss/D_B/adv",
                  "D/real", "D/fake")
    ema_network = None  # as the paper's code: the raw generators translate
    grid_columns = 3  # real | translated | reconstructed

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        from ganforge.data.unpaired import resolve_unpaired

        domains = resolve_unpaired(config.data, config.resolution, split="train", direction=config.direction,
                                   data_b=config.data_b, strict=config.strict, progress=progress)
        na, nb = len(domains.a), len(domains.b)
        info = DataInfo(name=domains.name, resolution=domains.resolution, channels=domains.b_channels,
                        count=max(na, nb), in_channels=domains.a_channels, counts={"A": na, "B": nb})
        return TrainData(arrays={"A": domains.a, "B": domains.b}, info=info, paired=False)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        if config.model != "resnet":
            raise ConfigError(f"task cyclegan takes --model resnet, got {config.model!r}")
        if config.loss not in CYCLEGAN_LOSSES:
            raise ConfigError(f"cyclegan takes --loss {', '.join(CYCLEGAN_LOSSES)} (lsgan is the paper's), "
                              f"got {config.loss!r}")
        ca, cb = data.in_channels or data.channels, data.channels
        if config.identity_weight > 0 and ca != cb:
            raise ConfigError(
                f"the identity loss feeds each generator images of its output domain, so both domains need the same "
                f"channels (A has {ca}, B has {cb}); use --identity-weight 0"
            )
        if config.residual and ca != cb:
            raise ConfigError(f"--residual adds each generator's output to its input, so both domains need the same "
                              f"channels (A has {ca}, B has {cb}): drop --residual")
        self.channels_a, self.channels_b = ca, cb
        shared = dict(width=config.width, n_blocks=config.n_blocks, norm="instance", dropout=0.0,
                      residual=bool(config.residual), upsample=config.upsample)
        self.kwargs_ab = dict(in_channels=ca, out_channels=cb, **shared)
        self.kwargs_ba = dict(in_channels=cb, out_channels=ca, **shared)
        self.G_AB, self.G_BA = ResnetGenerator(**self.kwargs_ab), ResnetGenerator(**self.kwargs_ba)
        self.D_A = PatchGANDiscriminator(in_channels=ca, width=config.width, d_layers=config.d_layers, norm="instance")
        self.D_B = PatchGANDiscriminator(in_channels=cb, width=config.width, d_layers=config.d_layers, norm="instance")
        check_discriminator_fits(self.D_A, config.resolution, config)
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.networks = {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}
        # One optimizer per pair, as the paper's code; the runtime averages gradients over each pair's modules.
        self._generators = nn.ModuleList([self.G_AB, self.G_BA])
        self._discriminators = nn.ModuleList([self.D_A, self.D_B])
        self.optimizers = gan_optimizers(config, self._generators.parameters(), self._discriminators.parameters())
        self.runner = PhaseRunner(self, phases=[  # generators first, as the authors' code
            Phase("Gmain", "G", self._generators, loss=self._g_main, frozen=(self._discriminators,)),
            Phase("Dmain", "D", self._discriminators, loss=self._d_main),
        ])
        self._make_pools(rank=0, world_size=1)
        self._grid_data: dict[str, torch.Tensor] = {}

    def _make_pools(self, rank: int, world_size: int) -> None:
        """Each process its own pools of `pool_size` batches of its share of the batch, and its own draws."""
        cfg = self.config
        size = history_size(cfg.pool_size, cfg.batch, rank, world_size)
        self.pool_a = ImagePool(size, seed=cfg.seed * 2 + 1 + 1000 * rank)  # fakes of domain A, for D_A
        self.pool_b = ImagePool(size, seed=cfg.seed * 2 + 2 + 1000 * rank)  # fakes of domain B, for D_B

    def attach(self, runtime: Any) -> None:
        super().attach(runtime)
        if runtime.world_size > 1:
            self._make_pools(runtime.rank, runtime.world_size)

    # ----------------------------------------------------------------------------------- training
    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Both generators in one phase, both discriminators frozen: GAN + cycle (+ identity) losses."""
        cfg, real_a, real_b = self.config, ctx.real_a, ctx.real_b
        stats: dict[str, torch.Tensor] = {}
        ctx.fake_b = self.G_AB(real_a)
        rec_a = self.G_BA(ctx.fake_b)
        ctx.fake_a = self.G_BA(real_b)
        rec_b = self.G_AB(ctx.fake_a)
        adv_b = self.loss.g_loss(self.D_B(ctx.fake_b).float())  # lsgan: MSE(D_B(G_AB(a)), 1), not halved
        adv_a = self.loss.g_loss(self.D_A(ctx.fake_a).float())
        ctx.adv = (adv_a + adv_b) / 2  # logged: the mean of the two directions
        ctx.cyc = cycle_loss(real_a.float(), rec_a.float()) + cycle_loss(real_b.float(), rec_b.float())
        loss_g = adv_a + adv_b + cfg.cycle_weight * ctx.cyc  # the authors' code: both directions' GAN losses summed
        if cfg.identity_weight > 0:
            idt = identity_loss(real_b.float(), self.G_AB(real_b).float()) + identity_loss(
                real_a.float(), self.G_BA(real_a).float())
            loss_g = loss_g + cfg.identity_weight * cfg.cycle_weight * idt
            stats["Loss/G/identity"] = idt.detach()
        return loss_g, stats

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Both discriminators, on real images against fakes drawn through the history pools."""
        pooled_b = self.pool_b.query(ctx.fake_b)
        pooled_a = self.pool_a.query(ctx.fake_a)
        d_real_b, d_fake_b = self.D_B(ctx.real_b).float(), self.D_B(pooled_b).float()
        d_real_a, d_fake_a = self.D_A(ctx.real_a).float(), self.D_A(pooled_a).float()
        ctx.loss_d_b = self.loss.d_loss(d_real_b, d_fake_b)
        ctx.loss_d_a = self.loss.d_loss(d_real_a, d_fake_a)
        ctx.d_real = (d_real_a.detach().mean() + d_real_b.detach().mean()) / 2
        ctx.d_fake = (d_fake_a.detach().mean() + d_fake_b.detach().mean()) / 2
        return ctx.loss_d_a + ctx.loss_d_b, {}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        ctx = StepContext(step, real_a=batch["A"], real_b=batch["B"])  # [N, C_a, H, W], [N, C_b, H, W] in [-1, 1]
        stats = self.runner.run(ctx)
        stats["Loss/D/adv"] = ((ctx.loss_d_a + ctx.loss_d_b) / 2).detach()
        stats["Loss/D_A/adv"] = ctx.loss_d_a.detach()
        stats["Loss/D_B/adv"] = ctx.loss_d_b.detach()
        stats["Loss/G/adv"] = ctx.adv.detach()
        stats["Loss/G/cycle"] = ctx.cyc.detach()
        stats["D/real"] = ctx.d_real
        stats["D/fake"] = ctx.d_fake
        return stats

    def extra_state(self) -> dict[str, Any]:
        return {"pool_a": self.pool_a.state(), "pool_b": self.pool_b.state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        # The checkpoint holds rank 0's pools. A process with a smaller share of the batch (an uneven split, or a
        # resume on more processes) has smaller pools: it keeps the first images that fit.
        for pool, key in ((self.pool_a, "pool_a"), (self.pool_b, "pool_b")):
            saved = dict(state.get(key, {}))
            saved["images"] = list(saved.get("images", []))[: pool.size]
            pool.load_state(saved)

    # ----------------------------------------------------------------------------------- sampling
    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = arrays

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        picked = pick_fixed(self._grid_data, max(1, min(n, GRID_ROWS) // 2), seed, paired=False)
        return {"A": uint8_input(picked["A"], False), "B": uint8_input(picked["B"], False)}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G_AB, G_BA = networks["G_AB"], networks["G_BA"]
        device = next(G_AB.parameters()).device
        a, b = inputs["A"].to(device), inputs["B"].to(device)
        fake_b, fake_a = G_AB(a), G_BA(b)
        rec_a, rec_b = G_BA(fake_b), G_AB(fake_a)
        c = 3 if 3 in (self.channels_a, self.channels_b) else 1
        rows_a = interleave_rows(to_display(a, c), to_display(fake_b, c), to_display(rec_a, c))
        rows_b = interleave_rows(to_display(b, c), to_display(fake_a, c), to_display(rec_b, c))
        return torch.cat([rows_a, rows_b])

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "translation",
            "task": "cyclegan",
            "components": {
                "G_AB": {"class": "resnet.generator", "kwargs": self.kwargs_ab, "network": "G_AB"},
                "G_BA": {"class": "resnet.generator", "kwargs": self.kwargs_ba, "network": "G_BA"},
            },
            "direction_components": {"AtoB": "G_AB", "BtoA": "G_BA"},
            "directions": ["AtoB", "BtoA"],
            "resolution": self.data.resolution,
            "in_channels": self.channels_a,
            "out_channels": self.channels_b,
            "num_labels": None,
            "stride": ResnetGenerator.stride,
            "min_size": 2 * ResnetGenerator.stride,
            "direction": self.config.direction,  # of the data it learned from
        }
