"""Task `nextframe`: next-frame video prediction, adversarial or mean-squared error (Mathieu et al., ICLR 2016).

A predictor (`--model simvp`, nets/simvp.py) sees the first `--context-frames` k frames of each training clip
and predicts the remaining m = `--frames` - k in one pass. `--loss` picks the objective:

- `mse`: the L2 baseline, mean (prediction - truth)^2. No discriminator is built or trained. Its optimum is
  the mean of the futures the context allows, which is why its predictions blur as they go (Lotter et al.);
- `adv` (default): Mathieu et al.'s combination, L2 + `--gdl-weight` (1) x the image gradient difference loss
  + `--adv-weight` (0.05) x the adversarial loss of a spatio-temporal discriminator (nets/video_disc.py, 3D
  convolutions, spectral norm, width max(8, width / 2)) that judges whole clips: the k observed frames
  followed by either the true or the predicted m frames, so it judges the motion as well as the frames.
  The adversarial loss is the non-saturating (binary cross-entropy) one, as in the paper. Mathieu's losses
  are sums over pixels and ours are means, so the same 0.05 weighs the adversarial term much more here
  relative to L2; `--adv-weight` sets it. `--pretrain-kimg K` (default 0, as the paper) trains on L2 alone
  for the first K kimg and adds GDL and the discriminator after, as SRGAN-style super-resolution does, so
  the adversarial phase starts from a predictor that already tracks the digits.

Data: `tasks.clips.load_clip_data` (moving-mnist, moving-emoji[-twitter], or a folder/zip of videos cut into
clips of `--frames`); moving data's `test` split (held-out digits or emoji) is never loaded by training.
Defaults follow Srivastava et al.'s Moving MNIST protocol: 64 px, 20 frames, 10 observed and 10 predicted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.errors import ConfigError
from ganforge.imaging import to_signed
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.losses.reconstruction import gradient_difference_loss, l2_loss
from ganforge.nets.simvp import SimVPPredictor
from ganforge.nets.video_disc import VideoDiscriminator
from ganforge.registry import LOSSES, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.clips import CLIP_KEY, load_clip_data
from ganforge.tasks.image.task import gan_optimizers, make_adam
from ganforge.tasks.nextframe.config import LOSSES as NEXTFRAME_LOSSES
from ganforge.tasks.translation.base import pick_fixed

ADVERSARIAL_LOSS = "ns"  # Mathieu et al.'s binary cross-entropy: D: softplus(-D(real)) + softplus(D(fake))
GRID_CLIPS = 4  # clips per sample grid, each shown as a true row and a predicted row
PREDICTORS: dict[str, tuple[str, type[nn.Module]]] = {"simvp": ("simvp.predictor", SimVPPredictor)}


def discriminator_width(width: int) -> int:
    """The clip discriminator's first-layer width for a predictor of `width`: 3D convolutions cost far more."""
    return max(8, width // 2)


@TASKS.register("nextframe")
class NextFrameTask(Task):
    """G(k observed frames) should match the next m frames (L2), and with `--loss adv` also their gradients (GDL)
    and fool a clip discriminator."""

    name = "nextframe"
    loss_names = ("Loss/G/l2", "Loss/G/gdl", "Loss/G/adv", "Loss/D/adv", "D/real", "D/fake", "Phase/adversarial")
    ema_network = "G"

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        return load_clip_data(config, int(config.clip_frames), progress)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        if config.model not in PREDICTORS:
            raise ConfigError(f"task nextframe takes --model {' or '.join(PREDICTORS)}, got {config.model!r}")
        if config.loss not in NEXTFRAME_LOSSES:
            raise ConfigError(f"nextframe takes --loss mse or adv, got {config.loss!r}")
        if data.frames is not None and data.frames != config.clip_frames:
            raise ConfigError(f"the training clips hold {data.frames} frames, the config asks for {config.clip_frames}")
        self.k = int(config.context_frames)
        self.m = int(config.clip_frames) - self.k
        class_name, cls = PREDICTORS[config.model]
        g_kwargs = dict(channels=data.channels, context_frames=self.k, out_frames=self.m,
                        resolution=config.resolution, width=config.width, hidden=None, n_blocks=config.n_blocks)
        self.G = cls(**g_kwargs)
        self.predictor_spec = {"class": class_name, "kwargs": g_kwargs, "network": "G"}
        self.networks: dict[str, nn.Module] = {"G": self.G}
        self.D: VideoDiscriminator | None = None
        if config.loss == "adv" and config.adv_weight > 0:
            self.D = VideoDiscriminator(in_channels=data.channels, frames=self.k + self.m,
                                        resolution=config.resolution, width=discriminator_width(config.width),
                                        spectral=True)
            if config.channels_last and not config.compile:  # as the trainer's layout rule; NDHWC is a third faster here
                self.D.to(memory_format=torch.channels_last_3d)
            self.networks["D"] = self.D
            self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
        else:  # the L2 baseline (or L2 + GDL with --adv-weight 0): no discriminator at all
            self.optimizers = {"G": make_adam(self.G.parameters(), config.lr_g, (config.beta1, config.beta2))}
        self.loss: AdversarialLoss = LOSSES.get(ADVERSARIAL_LOSS)()
        self.grid_columns = 1 + self.m  # last observed frame, then the future: a true row, then a predicted row
        self._grid_data: dict[str, torch.Tensor] = {}
        self.runner = self._declare_phases()

    # ----------------------------------------------------------------------------------- training
    def _declare_phases(self) -> PhaseRunner:
        """G alone for the L2 baseline; with a discriminator, D's phase once pre-training is over (its spectral norm's
        vectors averaged right after its step), then G's with D frozen."""
        g_main = Phase("Gmain", "G", self.G, loss=self._g_main, frozen=(self.D,) if self.D is not None else ())
        if self.D is None:
            return PhaseRunner(self, [g_main], forward=self._predict)
        d_main = Phase("Dmain", "D", self.D, loss=self._d_main, when=lambda ctx: ctx.adversarial, sync=(self.D,))
        return PhaseRunner(self, [d_main, g_main], forward=self._predict)

    def _predict(self, ctx: StepContext) -> None:
        ctx.pred = self.G(ctx.context)  # [N, m, C, H, W]: D's phase sees a detached copy, G's phase reuses the graph

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d_real = self.D(ctx.clip).float()
        d_fake = self.D(torch.cat([ctx.context, ctx.pred.detach().to(ctx.context.dtype)], dim=1)).float()
        loss_d = self.loss.d_loss(d_real, d_fake)
        return loss_d, {"Loss/D/adv": loss_d.detach(), "D/real": d_real.detach().mean(), "D/fake": d_fake.detach().mean()}

    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L2; + GDL and the adversarial term once adversarial (GDL throughout without a discriminator)."""
        cfg, future = self.config, ctx.future
        stats: dict[str, torch.Tensor] = {}
        out = ctx.pred.float()
        ctx.l2 = l2_loss(out, future)
        loss_g = ctx.l2
        if cfg.gdl_weight > 0 and (ctx.adversarial or self.D is None):  # with --adv-weight 0: L2 + GDL throughout
            gdl = gradient_difference_loss(out, future)
            loss_g = loss_g + cfg.gdl_weight * gdl
            stats["Loss/G/gdl"] = gdl.detach()
        if ctx.adversarial:
            adv = self.loss.g_loss(self.D(torch.cat([ctx.context, out], dim=1)).float())
            loss_g = loss_g + cfg.adv_weight * adv
            stats["Loss/G/adv"] = adv.detach()
        return loss_g, stats

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        clip = batch[CLIP_KEY]  # [N, k + m, C, H, W] in [-1, 1]
        adversarial = self.D is not None and self.adversarial_at(step)  # False during --pretrain-kimg: L2 alone
        ctx = StepContext(step, clip=clip, context=clip[:, : self.k], future=clip[:, self.k :], adversarial=adversarial)
        stats: dict[str, torch.Tensor] = {}
        if self.D is not None:
            stats["Phase/adversarial"] = torch.tensor(float(adversarial), device=clip.device)
        stats.update(self.runner.run(ctx))
        stats["Loss/G/l2"] = ctx.l2.detach()
        return stats

    # ----------------------------------------------------------------------------------- sampling
    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = arrays

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """A fixed choice of training clips (seeded), float [n, k + m, C, H, W] in [-1, 1]."""
        picked = pick_fixed(self._grid_data, min(n, GRID_CLIPS), seed, paired=True)[CLIP_KEY]  # uint8
        return {"clip": to_signed(picked)}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per clip two rows of 1 + m frames: the last observed frame and the true future, then the last observed
        frame and the prediction."""
        G = networks.get("G_ema", networks["G"])
        device = next(G.parameters()).device
        clip = inputs["clip"].to(device)
        last = clip[:, self.k - 1 : self.k]
        pred = G(clip[:, : self.k]).float().clamp(-1, 1)
        rows = torch.stack([torch.cat([last, clip[:, self.k :]], 1), torch.cat([last, pred], 1)], dim=1)
        return rows.flatten(0, 2)  # [clips * 2 * (1 + m), C, H, W], row by row

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "nextframe",
            "task": "nextframe",
            "model": self.config.model,
            "components": {"predictor": self.predictor_spec},
            "resolution": self.config.resolution,
            "channels": self.data.channels,
            "context_frames": self.k,
            "out_frames": self.m,
            "loss": self.config.loss,
        }
