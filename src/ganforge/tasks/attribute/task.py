"""The attribute-editing task: G(image, target attribute) -> the image with that attribute, the rest kept.

G is pix2pix's U-Net (instance norm, no dropout: one answer per input; by default drawing colours and a mask that
keeps the rest of the input, GANimation's attention) and D a PatchGAN, both told the attribute by one-hot planes
(nets/attribute.py). Each step, for sources x of attribute a and targets t:
- D learns real images with their own attribute as real; G's edits with t, and the sources with the wrong t
  (real image, mismatched attribute: the matching-aware term of conditional GANs), as fake;
- D's auxiliary classifier (StarGAN's) learns to read a real image's attribute from the image alone;
- G learns the adversarial term, that classifier reading t in its edit, L1 to the true counterfactual y where the
  data hold one (emoji skin tones: pix2pix's weight 100), StarGAN's cycle: G(G(x, t), a) = x, and with
  `identity_weight` CAAE's reconstruction: G(x, a) = x.
`--model caae` swaps the U-Net for CAAE's bottleneck encoder-decoder (nets/attribute.py), for shape changes.
Unpaired data (digit classes) draw t uniformly among the other attributes, seeded by the step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.losses.reconstruction import l1_loss
from ganforge.nets.attribute import AttributeCritic
from ganforge.registry import LOSSES, NETWORKS, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.image.task import gan_optimizers
from ganforge.tasks.translation.base import GRID_ROWS, check_discriminator_fits, pick_fixed


@TASKS.register("attribute")
class AttributeTask(Task):
    """Conditional encoder-decoder GAN for one attribute (see the module doc)."""

    name = "attribute"
    loss_names = ("Loss/G/adv", "Loss/G/pair", "Loss/G/cycle", "Loss/G/identity", "Loss/G/cls", "Loss/D/adv",
                  "Loss/D/cls", "D/real", "D/fake")
    ema_network = "G"

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        from ganforge.tasks.attribute.data import attribute_set

        found = attribute_set(config.data, config.attribute, config.resolution, "train")
        k = len(found.class_names)
        arrays = {"A": found.sources}
        labels = found.source_labels
        if found.paired:
            arrays["B"] = found.targets
            labels = found.source_labels * k + found.target_labels  # one int carries both attributes
        info = DataInfo(name=str(config.data), resolution=config.resolution, channels=found.sources.shape[-1],
                        count=len(found.sources), class_names=found.class_names,
                        counts={key: len(v) for key, v in arrays.items()})
        return TrainData(arrays=arrays, info=info, labels=labels, paired=True)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        self.classes = len(data.class_names)
        self.paired = "B" in data.counts
        if config.model == "caae":
            self.g_class = "attribute.caae"
            self.g_kwargs = dict(channels=data.channels, classes=self.classes, resolution=config.resolution,
                                 width=config.width)
        else:
            self.g_class = "attribute.unet"
            self.g_kwargs = dict(channels=data.channels, classes=self.classes, composite=bool(config.composite),
                                 resolution=config.resolution, width=config.width, norm="instance", dropout=0.0)
        self.G = NETWORKS.get(self.g_class)(**self.g_kwargs)
        self.D = AttributeCritic(data.channels, self.classes, width=config.width, d_layers=config.d_layers,
                                 norm="none")
        check_discriminator_fits(self.D.patchgan, config.resolution, config)
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
        self.runner = PhaseRunner(self, forward=self._edit, phases=[
            Phase("Dmain", "D", self.D, loss=self._d_loss),
            Phase("Gmain", "G", self.G, loss=self._g_loss, frozen=(self.D,)),
        ])
        self.grid_columns = 1 + self.classes  # a source, then its edit into each attribute
        self._grid_data: dict[str, torch.Tensor] = {}

    def targets_for(self, sources: torch.Tensor, step: int) -> torch.Tensor:
        """Unpaired: a target attribute for each source, uniformly among the others, seeded by the step (and the
        process: each rank draws its own)."""
        rank = self.runtime.rank if self.runtime is not None else 0
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + step + rank * 999_999_937)
        shift = torch.randint(1, self.classes, (len(sources),), generator=g).to(sources.device)
        return (sources + shift) % self.classes

    def _edit(self, ctx: StepContext) -> None:
        ctx.fake = self.G(ctx.x, ctx.target)

    def _d_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real_images, real_attr = (ctx.y, ctx.target) if ctx.y is not None else (ctx.x, ctx.source)
        real = self.D(real_images, real_attr).float()
        fake = torch.cat([self.D(ctx.fake.detach(), ctx.target), self.D(ctx.x, ctx.target)]).float()
        loss = self.loss.d_loss(real, fake)
        ctx.d_real, ctx.d_fake = real.detach().mean(), fake.detach().mean()
        stats = {"Loss/D/adv": loss.detach()}
        if self.config.cls_weight:
            cls = F.cross_entropy(self.D.classify(real_images).float(), real_attr)
            loss = loss + self.config.cls_weight * cls
            stats["Loss/D/cls"] = cls.detach()
        return loss, stats

    def _g_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        adv = self.loss.g_loss(self.D(ctx.fake, ctx.target).float())
        cycle = l1_loss(self.G(ctx.fake, ctx.source).float(), ctx.x.float())
        loss = adv + cfg.cycle_weight * cycle
        stats = {"Loss/G/adv": adv.detach(), "Loss/G/cycle": cycle.detach()}
        if cfg.identity_weight:
            identity = l1_loss(self.G(ctx.x, ctx.source).float(), ctx.x.float())
            loss = loss + cfg.identity_weight * identity
            stats["Loss/G/identity"] = identity.detach()
        if cfg.cls_weight:
            cls = F.cross_entropy(self.D.classify(ctx.fake).float(), ctx.target)
            loss = loss + cfg.cls_weight * cls
            stats["Loss/G/cls"] = cls.detach()
        if ctx.y is not None:
            pair = l1_loss(ctx.fake.float(), ctx.y.float())
            loss = loss + cfg.pair_weight * pair
            stats["Loss/G/pair"] = pair.detach()
        return loss, stats

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        label = batch["label"]
        if self.paired:
            source, target, y = label // self.classes, label % self.classes, batch["B"]
        else:
            source, y = label, None
            target = self.targets_for(source, step)
        ctx = StepContext(step, x=batch["A"], y=y, source=source, target=target)
        stats = self.runner.run(ctx)
        stats["D/real"], stats["D/fake"] = ctx.d_real, ctx.d_fake
        return stats

    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = {"A": arrays["A"]}

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        picked = pick_fixed(self._grid_data, min(n, GRID_ROWS), seed, paired=True)["A"]
        return {"x": picked.float() / 127.5 - 1}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        x = inputs["x"].to(next(G.parameters()).device)
        columns = [x] + [G(x, torch.full((len(x),), k, device=x.device)).float().clamp(-1, 1)
                         for k in range(self.classes)]
        return torch.stack(columns, dim=1).flatten(0, 1)

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "attribute",
            "components": {"editor": {"class": self.g_class, "kwargs": self.g_kwargs, "network": "G"}},
            "resolution": self.data.resolution, "channels": self.data.channels, "attribute": self.config.attribute,
            "class_names": list(self.data.class_names),
        }
