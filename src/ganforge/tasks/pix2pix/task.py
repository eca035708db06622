"""Task `pix2pix`: paired image-to-image translation (Isola et al., 2017; SPADE, Park et al., 2019).

Models (`--model`):

- `unet` (default): pix2pix's U-Net generator against a PatchGAN that judges the input and the output
  concatenated along channels; loss = adversarial (`--loss` ns | lsgan | hinge) + `--l1-weight` (100)
  x L1 to the target. `--residual` makes the U-Net predict a change to its input and `--upsample resize` swaps
  its transposed convolutions for resize-convolutions (nets/unet.py).
- `spade`: SPADE's generator for label-map inputs, against a two-scale PatchGAN with spectral norm;
  loss = hinge + `--fm-weight` (10) x feature matching (pix2pixHD) + optional `--l1-weight` x L1.
  SPADE's VGG perceptual loss has no VGG weights here; `--perceptual-weight` (off by default, either model)
  adds the same kind of term on the FID Inception network's stem instead (losses/perceptual.py).

The data are `resolve_paired(--data, split="train", direction=--direction)`: the held-out 10% test
split is never loaded here. Label-map inputs (`labels:FOLDER`) reach the networks one-hot.
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
from ganforge.losses.perceptual import InceptionPerceptualLoss
from ganforge.losses.reconstruction import adversarial_with_feature_matching, l1_loss
from ganforge.nets.patchgan import MultiScaleDiscriminator, PatchGANDiscriminator
from ganforge.nets.spade import SPADEGenerator, one_hot_labels
from ganforge.nets.unet import UNetGenerator
from ganforge.registry import LOSSES, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.image.task import gan_optimizers
from ganforge.tasks.translation.base import (
    GRID_ROWS,
    check_discriminator_fits,
    interleave_rows,
    pick_fixed,
    to_display,
    uint8_input,
)

PIX2PIX_LOSSES = ("ns", "lsgan", "hinge")


def _build_unet(config: TrainConfig, data: DataInfo, in_channels: int) -> tuple[nn.Module, dict, nn.Module]:
    if config.residual and (data.num_labels is not None or in_channels != data.channels):
        given = "label maps" if data.num_labels is not None else f"{in_channels}-channel images"
        raise ConfigError(f"--residual adds the generator's output to its input, so it needs input images with the "
                          f"target's {data.channels} channels; {data.name!r} gives {given}: drop --residual")
    g_kwargs = dict(in_channels=in_channels, out_channels=data.channels, resolution=config.resolution, depth=None,
                    width=config.width, max_channels=512, norm="batch", dropout=0.5, dropout_blocks=3,
                    residual=bool(config.residual), upsample=config.upsample)
    D = PatchGANDiscriminator(in_channels=in_channels + data.channels, width=config.width, d_layers=config.d_layers,
                              norm="batch")
    return UNetGenerator(**g_kwargs), {"class": "unet.generator", "kwargs": g_kwargs, "network": "G"}, D


def _build_spade(config: TrainConfig, data: DataInfo, in_channels: int) -> tuple[nn.Module, dict, nn.Module]:
    if config.residual:
        raise ConfigError("--residual applies to --model unet: spade draws images from label maps, not from images")
    if data.num_labels is None:
        raise ConfigError(
            f"--model spade turns label maps into images; {data.name!r} has image inputs. Use labels:FOLDER "
            "(images/ and labels/ of integer label-map PNGs) or --model unet"
        )
    g_kwargs = dict(num_labels=data.num_labels, out_channels=data.channels, resolution=config.resolution,
                    num_up=None, width=config.width, max_channels=16 * config.width, hidden=min(128, 2 * config.width),
                    norm="batch", spectral=True)
    D = MultiScaleDiscriminator(in_channels=in_channels + data.channels, num_d=2, width=config.width,
                                d_layers=config.d_layers, norm="instance", spectral=True)
    return SPADEGenerator(**g_kwargs), {"class": "spade.generator", "kwargs": g_kwargs, "network": "G"}, D


PIX2PIX_MODELS: dict[str, Callable[[TrainConfig, DataInfo, int], tuple[nn.Module, dict, nn.Module]]] = {
    "unet": _build_unet,
    "spade": _build_spade,
}


@TASKS.register("pix2pix")
class Pix2PixTask(Task):
    """Conditional GAN on aligned pairs: G(input) should fool D(input, output) and match the target."""

    name = "pix2pix"
    loss_names = ("Loss/D/adv", "Loss/G/adv", "Loss/G/l1", "Loss/G/fm", "Loss/G/perceptual", "D/real", "D/fake")
    ema_network = "G"
    grid_columns = 3  # input | output | target

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        from ganforge.data.paired import resolve_paired

        pairs = resolve_paired(config.data, config.resolution, split="train", direction=config.direction,
                               strict=config.strict, progress=progress)
        info = DataInfo(name=pairs.name, resolution=pairs.resolution, channels=pairs.b_channels, count=len(pairs),
                        in_channels=pairs.a_channels, num_labels=pairs.num_labels,
                        counts={"A": len(pairs), "B": len(pairs)})
        return TrainData(arrays={"A": pairs.a, "B": pairs.b}, info=info, paired=True,
                         integer_keys=("A",) if pairs.num_labels is not None else ())

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        if config.model not in PIX2PIX_MODELS:
            raise ConfigError(f"task pix2pix takes --model {' or '.join(PIX2PIX_MODELS)}, got {config.model!r}")
        if config.loss not in PIX2PIX_LOSSES:
            raise ConfigError(f"pix2pix takes --loss {', '.join(PIX2PIX_LOSSES)} (ns is the paper's vanilla GAN), "
                              f"got {config.loss!r}")
        self.num_labels = data.num_labels  # label-map input: ids 0..num_labels-1, fed one-hot
        self.in_channels = data.num_labels if data.num_labels is not None else (data.in_channels or data.channels)
        self.G, self.generator_spec, self.D = PIX2PIX_MODELS[config.model](config, data, self.in_channels)
        check_discriminator_fits(self.D, config.resolution, config)
        self.multiscale = isinstance(self.D, MultiScaleDiscriminator)
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
        self.runner = PhaseRunner(self, forward=self._generate, sync=(self.G, self.D), phases=[
            Phase("Dmain", "D", self.D, loss=self._d_main),
            Phase("Gmain", "G", self.G, loss=self._g_main, frozen=(self.D,)),  # D frozen: no weight gradients for it
        ])
        self._grid_data: dict[str, torch.Tensor] = {}
        self.perceptual: InceptionPerceptualLoss | None = None  # built on the run's device by attach()

    def attach(self, runtime: Any) -> None:
        super().attach(runtime)
        if self.config.perceptual_weight:
            self.perceptual = InceptionPerceptualLoss(device=runtime.device)

    # ----------------------------------------------------------------------------------- training
    def encode_input(self, a: torch.Tensor) -> torch.Tensor:
        """The batch's A side as G's input: one-hot [N, L, H, W] for label maps, else the image as is."""
        return one_hot_labels(a, self.num_labels) if self.num_labels is not None else a

    def _d(self, condition: torch.Tensor, image: torch.Tensor, features: bool = False) -> Any:
        return self.D(torch.cat([condition, image.to(condition.dtype)], dim=1), return_features=features)

    def _scales(self, out: Any) -> list[torch.Tensor]:
        return [o.float() for o in out] if self.multiscale else [out.float()]

    def _generate(self, ctx: StepContext) -> None:
        # One generator forward: D's phase sees a detached copy, G's phase reuses the graph.
        ctx.fake = self.G(ctx.x)

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Real pairs (input, target) against fake pairs (input, G(input)), averaged over D's scales."""
        ctx.d_real = self._scales(self._d(ctx.x, ctx.target))
        ctx.d_fake = self._scales(self._d(ctx.x, ctx.fake.detach()))
        ctx.loss_d = torch.stack([self.loss.d_loss(r, f) for r, f in zip(ctx.d_real, ctx.d_fake)]).mean()
        return ctx.loss_d, {}

    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Adversarial + feature matching + L1 + perceptual, D frozen."""
        cfg, x, fake, target = self.config, ctx.x, ctx.fake, ctx.target
        ctx.loss_g_adv, loss_g, stats = adversarial_with_feature_matching(
            lambda images, features: self._d(x, images, features=features), fake, target,
            lambda logits: torch.stack([self.loss.g_loss(f) for f in self._scales(logits)]).mean(), cfg.fm_weight)
        ctx.l1 = l1_loss(fake.float(), target.float())
        if cfg.l1_weight > 0:
            loss_g = loss_g + cfg.l1_weight * ctx.l1
        if self.perceptual is not None:
            perceptual = self.perceptual(fake, target)
            loss_g = loss_g + cfg.perceptual_weight * perceptual
            stats["Loss/G/perceptual"] = perceptual.detach()
        return loss_g, stats

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        # [N, C_in, H, W]: image in [-1, 1] or one-hot labels; target [N, C, H, W] in [-1, 1]
        ctx = StepContext(step, x=self.encode_input(batch["A"]), target=batch["B"])
        stats = self.runner.run(ctx)
        stats["Loss/D/adv"] = ctx.loss_d.detach()
        stats["Loss/G/adv"] = ctx.loss_g_adv.detach()
        stats["Loss/G/l1"] = ctx.l1.detach()  # always reported: how far outputs are from targets
        stats["D/real"] = torch.stack([r.detach().mean() for r in ctx.d_real]).mean()
        stats["D/fake"] = torch.stack([f.detach().mean() for f in ctx.d_fake]).mean()
        return stats

    # ----------------------------------------------------------------------------------- sampling
    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = arrays

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        picked = pick_fixed(self._grid_data, min(n, GRID_ROWS), seed, paired=True)
        return {"A": uint8_input(picked["A"], self.num_labels is not None), "B": uint8_input(picked["B"], False)}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        device = next(G.parameters()).device
        a = inputs["A"].to(device)
        fake = G(self.encode_input(a)).float()
        shown_in = 3 if self.num_labels is not None else self.in_channels
        channels = 3 if 3 in (shown_in, fake.shape[1]) else 1
        return interleave_rows(
            to_display(a, channels, self.num_labels), to_display(fake, channels), to_display(inputs["B"].to(device), channels)
        )

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "translation",
            "task": "pix2pix",
            "components": {"generator": self.generator_spec},
            "resolution": self.data.resolution,
            "in_channels": self.data.in_channels,
            "out_channels": self.data.channels,
            "num_labels": self.num_labels,
            "stride": int(self.G.stride),
            "min_size": int(getattr(self.G, "min_size", self.G.stride)),
            "direction": self.config.direction,  # of the data it learned from; the model maps its A to its B
            "directions": ["AtoB"],
        }
