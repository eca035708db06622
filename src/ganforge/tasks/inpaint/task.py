"""Task `inpaint`: fill holes (and outpaint borders) in images (LaMa, Suvorov et al., 2022).

The generator sees the image with its hole zeroed plus the mask as one more channel and predicts the
whole image; the hole of its prediction is composited into the input, so known pixels come back
exactly (out = mask * pred + (1 - mask) * input). A spectrally normalised PatchGAN judges the composite
(or the real image) concatenated with the mask. Generator loss:

    hinge adversarial + --fm-weight (10) x D feature matching
                      + --l1-weight (10) x L1 weighted --hole-weight (6) : 1 inside : outside the hole

The hinge loss is ours, not LaMa's: LaMa trains with the non-saturating loss plus R1 (gamma 0.001, adversarial
weight 10, feature matching 100; its configs/training/lama-fourier.yaml). `--loss ns` is the nearest here; this
task has no R1 term.

Masks are drawn on the fly from `data.masks`' mixture (brush strokes, rectangles, blobs, outpaint
bands), each by a generator seeded with (seed, step, the item's position in the global batch): the masks,
like the images, are a pure function of the step, so a resumed run sees exactly what an unbroken one
would, on any number of processes.

Models (`--model`) come from INPAINT_MODELS: `lama` (FFC ResNet, nets/ffc.py). Another generator
(DeepFill v2's gated convolutions, partial convolutions) is one more entry there: a builder that returns
the network (registered in NETWORKS, taking the holed image + mask and returning a prediction, with a
`stride`) and its spec, plus its name and defaults in the MODELS of tasks/inpaint/config.py.

The data are any image set `resolve_dataset` takes (folder, zip, `emoji`, `photos` crops, ...), minus
a fixed seeded 10% held-out split (`data.split.resolve_split_images`), which training never loads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.data.masks import sample_masks
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.errors import ConfigError
from ganforge.imaging import to_signed
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.losses.reconstruction import adversarial_with_feature_matching, hole_weighted_l1_loss
from ganforge.nets.ffc import LamaGenerator, composite, inpaint_input
from ganforge.nets.patchgan import PatchGANDiscriminator
from ganforge.registry import LOSSES, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData, batch_positions, train_split_data
from ganforge.tasks.image.task import gan_optimizers
from ganforge.tasks.translation.base import GRID_ROWS, check_discriminator_fits, interleave_rows, pick_fixed

INPAINT_LOSSES = ("hinge", "ns", "lsgan")
MASK_KIND = "mixed"  # the training masks: data.masks.MIXTURE of brush, rect, blob and outpaint
MASK_STREAM = 0x1A3A  # separates the mask generator's seed from every other use of --seed


def training_masks(seed: int, step: int, positions: range, size: int) -> np.ndarray:
    """The masks of the items at `positions` of one step's global batch (see `batch_positions`), bool
    [len(positions), size, size]: each drawn from its own generator seeded by (seed, step, position), so an
    item's mask does not depend on how many processes share the batch."""
    out = np.empty((len(positions), size, size), dtype=bool)
    for i, position in enumerate(positions):
        rng = np.random.default_rng([MASK_STREAM, int(seed), int(step), int(position)])
        out[i] = sample_masks(1, MASK_KIND, size, rng)[0]
    return out


def _build_lama(config: TrainConfig, data: DataInfo) -> tuple[nn.Module, dict]:
    kwargs = dict(channels=data.channels, width=config.width, n_down=2 if config.resolution >= 16 else 1,
                  n_blocks=config.n_blocks, ratio=0.75, max_channels=512)
    return LamaGenerator(**kwargs), {"class": "lama.generator", "kwargs": kwargs, "network": "G"}


# name -> builder of (generator, its spec for model.json); see the module doc for adding DeepFill v2.
INPAINT_MODELS: dict[str, Callable[[TrainConfig, DataInfo], tuple[nn.Module, dict]]] = {
    "lama": _build_lama,
}


@TASKS.register("inpaint")
class InpaintTask(Task):
    """Masked image completion: G(image * (1 - m), m) composited into the image should fool D(image, m)."""

    name = "inpaint"
    loss_names = ("Loss/D/adv", "Loss/G/adv", "Loss/G/l1", "Loss/G/l1_hole", "Loss/G/fm", "D/real", "D/fake",
                  "Mask/area")
    ema_network = "G"
    grid_columns = 4  # input (hole grey) | mask | output | truth

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        return train_split_data(config, progress)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        if config.model not in INPAINT_MODELS:
            raise ConfigError(f"task inpaint takes --model {' or '.join(INPAINT_MODELS)}, got {config.model!r}")
        if config.loss not in INPAINT_LOSSES:
            raise ConfigError(f"inpaint takes --loss {', '.join(INPAINT_LOSSES)} (hinge is the default), "
                              f"got {config.loss!r}")
        self.G, self.generator_spec = INPAINT_MODELS[config.model](config, data)
        self.D = PatchGANDiscriminator(in_channels=data.channels + 1, width=config.width, d_layers=config.d_layers,
                                       norm="none", spectral=True)
        check_discriminator_fits(self.D, config.resolution, config)
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
        self.runner = PhaseRunner(self, forward=self._generate, sync=(self.G, self.D), phases=[  # D: spectral norm's u
            Phase("Dmain", "D", self.D, loss=self._d_main),
            Phase("Gmain", "G", self.G, loss=self._g_main, frozen=(self.D,)),
        ])
        self._grid_data: dict[str, torch.Tensor] = {}

    # ----------------------------------------------------------------------------------- training
    def _masks(self, step: int, like: torch.Tensor) -> torch.Tensor:
        n, _, h, _ = like.shape
        rank, world = (self.runtime.rank, self.runtime.world_size) if self.runtime is not None else (0, 1)
        positions = batch_positions(step, self.config.batch, rank, world)
        assert len(positions) == n, (len(positions), n)
        m = torch.from_numpy(training_masks(self.config.seed, step, positions, h))  # bool [N, H, W]
        return m[:, None].to(device=like.device, dtype=like.dtype)  # [N, 1, H, W], 1 = hole

    def _d(self, image: torch.Tensor, mask: torch.Tensor, features: bool = False) -> Any:
        return self.D(torch.cat([image, mask.to(image.dtype)], dim=1), return_features=features)

    def _generate(self, ctx: StepContext) -> None:
        # One generator forward: D's phase sees a detached copy, G's phase reuses the graph.
        ctx.pred = self.G(inpaint_input(ctx.real, ctx.mask))
        ctx.fake = composite(ctx.pred, ctx.real, ctx.mask)

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        ctx.d_real = self._d(ctx.real, ctx.mask).float()
        ctx.d_fake = self._d(ctx.fake.detach(), ctx.mask).float()
        ctx.loss_d = self.loss.d_loss(ctx.d_real, ctx.d_fake)
        return ctx.loss_d, {}

    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Adversarial + feature matching + hole-weighted L1, D frozen."""
        cfg, real, mask = self.config, ctx.real, ctx.mask
        ctx.loss_g_adv, loss_g, stats = adversarial_with_feature_matching(
            lambda images, features: self._d(images, mask, features=features), ctx.fake, real,
            lambda logits: self.loss.g_loss(logits.float()), cfg.fm_weight)
        ctx.l1 = hole_weighted_l1_loss(ctx.pred.float(), real.float(), mask.float(), cfg.hole_weight)
        if cfg.l1_weight > 0:
            loss_g = loss_g + cfg.l1_weight * ctx.l1
        return loss_g, stats

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        real = batch["image"]  # [N, C, H, W] in [-1, 1]
        ctx = StepContext(step, real=real, mask=self._masks(step, real))  # mask [N, 1, H, W]
        stats = self.runner.run(ctx)
        with torch.no_grad():
            m = ctx.mask.float()
            hole = (m * (ctx.pred.detach().float() - real.float()).abs()).sum() / (m.sum() * real.shape[1]).clamp_min(1)
        stats["Loss/D/adv"] = ctx.loss_d.detach()
        stats["Loss/G/adv"] = ctx.loss_g_adv.detach()
        stats["Loss/G/l1"] = ctx.l1.detach()
        stats["Loss/G/l1_hole"] = hole  # mean |pred - real| inside the holes, in [-1, 1] units
        stats["D/real"] = ctx.d_real.detach().mean()
        stats["D/fake"] = ctx.d_fake.detach().mean()
        stats["Mask/area"] = m.mean()
        return stats

    # ----------------------------------------------------------------------------------- sampling
    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = arrays

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        picked = pick_fixed(self._grid_data, min(n, GRID_ROWS), seed, paired=True)["image"]
        masks = sample_masks(len(picked), MASK_KIND, int(picked.shape[-1]), seed)
        return {"image": to_signed(picked), "mask": torch.from_numpy(masks)[:, None].float()}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        device = next(G.parameters()).device
        real, mask = inputs["image"].to(device), inputs["mask"].to(device)
        x = inpaint_input(real, mask)
        out = composite(G(x).float(), real, mask)
        c = real.shape[1]
        return interleave_rows(x[:, :c], (mask * 2 - 1).expand(-1, c, -1, -1), out, real)

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "inpaint",
            "task": "inpaint",
            "components": {"generator": self.generator_spec},
            "resolution": self.data.resolution,
            "channels": self.data.channels,
            "stride": int(self.G.stride),
            "min_size": int(getattr(self.G, "min_size", self.G.stride)),
        }
