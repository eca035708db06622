"""The encoder task: an encoder E into a frozen StyleGAN2's W+, trained on real images and on the generator's own
samples (e4e/pSp at our scale).

Each step: `real_fraction` of the batch are real images, the rest the generator's samples drawn from fresh z (their
w known). E reads all of them; the generator draws E's w+ back (its fixed noise) and the loss is pixel MSE + the
Inception stem's perceptual L1 to the input, plus the MSE of E's w+ to the true w on the samples, plus e4e's
penalty on the per-layer offsets. The generator is never trained; it is rebuilt from `--generator` on resume, and
its weights' hash is checked against the one the run started with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import TrainConfig
from ganforge.editing.inversion import draw_encoded, upsized
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.errors import ConfigError
from ganforge.nets.encoder import StyleEncoder
from ganforge.registry import TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData, train_split_data
from ganforge.tasks.image.task import make_adam

GRID_ROWS = 8  # real images in the sample grids, each beside its reconstruction


def load_frozen_generator(source: str) -> tuple[nn.Module, str, Any]:
    """(generator, weights' hash, pipeline) of `--generator`: a StyleGAN2 image generator, frozen, in eval mode."""
    from ganforge.api import load

    try:
        with torch.device("cpu"):  # real weights even while the trainer sizes the task on the meta device
            pipe = load(source)
    except Exception as exc:  # a missing path or a broken export: one line naming the option
        raise ConfigError(f"--generator {source}: {exc}") from None
    generator = getattr(pipe, "generator", None)
    if pipe.config.get("pipeline") != "image" or not hasattr(generator, "mapping"):
        raise ConfigError(f"--generator {source} is not a StyleGAN2 image generator: the encoder inverts into W+, "
                          "which dcgan and r3gan do not have")
    if pipe.class_names:
        raise ConfigError(f"--generator {source} is class-conditional; the encoder takes an unconditional one")
    return generator.eval().requires_grad_(False), pipe.model_hash, pipe


@TASKS.register("encoder")
class EncoderTask(Task):
    """E: images -> w+ of a frozen StyleGAN2, trained by reconstruction (see the module doc)."""

    name = "encoder"
    loss_names = ("Loss/E/pixel", "Loss/E/perceptual", "Loss/E/latent", "Loss/E/feature", "Loss/E/delta",
                  "Loss/E/total")
    ema_network = "E"
    grid_columns = 2  # input | reconstruction

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        """The train split only: inversion is measured on the held-out test split."""
        return train_split_data(config, progress)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        self.G, self.generator_hash, pipe = load_frozen_generator(str(config.generator))
        if data.resolution != pipe.resolution or data.channels != pipe.channels:
            raise ConfigError(f"the generator draws {pipe.resolution} px with {pipe.channels} channel(s), the data are "
                              f"{data.resolution} px with {data.channels}: give --resolution {pipe.resolution} (and "
                              "data of the generator's kind)")
        width = int(config.width)
        self.e_kwargs = dict(resolution=data.resolution, channels=data.channels, w_dim=self.G.w_dim,
                             channel_base=64 * width, channel_max=4 * width)  # as StyleGAN2's --width
        if config.feature_res:
            self.e_kwargs.update(feature_res=int(config.feature_res),
                                 feature_channels=self.G.feature_channels(int(config.feature_res)))
        self.E = StyleEncoder(**self.e_kwargs)
        with torch.no_grad():
            self.E.w_avg.copy_(self.G.mapping.w_avg.float())
        if self.E.num_ws != self.G.num_ws:
            raise ConfigError(f"the encoder predicts {self.E.num_ws} ws, the generator takes {self.G.num_ws}")
        self.networks = {"E": self.E}
        self.optimizers = {"E": make_adam(self.E.parameters(), config.lr, (0.9, 0.99))}
        self.runner = PhaseRunner(self, phases=[Phase("Emain", "E", self.E, loss=self._loss)])
        self.perceptual: Any = None
        self._grid_data: dict[str, torch.Tensor] = {}

    def attach(self, runtime: Any) -> None:
        super().attach(runtime)
        self.G.to(runtime.device)
        if self.config.perceptual_weight:
            from ganforge.losses.perceptual import InceptionPerceptualLoss

            self.perceptual = InceptionPerceptualLoss(device=runtime.device)

    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = arrays

    def reconstruct(self, encoder: nn.Module, images: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(w+ [N, num_ws, w_dim], the generator's image of it [N, C, R, R], the feature residual or None)."""
        ws, residual = encoder.encode(images)
        return ws, draw_encoded(self.G, ws, residual, encoder.feature_res), residual

    def _loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        real = ctx.real
        n_fake = len(real) - round(len(real) * cfg.real_fraction)
        # resume draws the same z; each process its own (rank 0 as before)
        rank = self.runtime.rank if self.runtime is not None else 0
        g = torch.Generator(device="cpu").manual_seed(cfg.seed * 1_000_003 + ctx.step + rank * 999_999_937)
        z = torch.randn(n_fake, self.G.z_dim, generator=g).to(real.device)
        with torch.no_grad():
            w_true = self.G.mapping(z, None)[:, None].repeat(1, self.G.num_ws, 1)
            fake = self.G.synthesis(w_true, "const").to(real.dtype)
        inputs = torch.cat([real[: len(real) - n_fake], fake]).contiguous()
        ws, recon, residual = self.reconstruct(self.E, inputs)
        recon, inputs, ws = recon.float(), inputs.float(), ws.float()
        pixel = F.mse_loss(recon, inputs)
        loss = pixel
        stats = {"Loss/E/pixel": pixel.detach()}
        if self.perceptual is not None:
            perceptual = self.perceptual(upsized(recon), upsized(inputs))
            loss = loss + cfg.perceptual_weight * perceptual
            stats["Loss/E/perceptual"] = perceptual.detach()
        if n_fake and cfg.latent_weight:
            latent = F.mse_loss(ws[len(ws) - n_fake :], w_true.float())
            loss = loss + cfg.latent_weight * latent
            stats["Loss/E/latent"] = latent.detach()
        if residual is not None and cfg.feature_weight:
            feature = residual.float().square().mean()
            loss = loss + cfg.feature_weight * feature
            stats["Loss/E/feature"] = feature.detach()
        delta = (ws - ws[:, :1]).square().mean()
        loss = loss + cfg.delta_weight * delta
        stats["Loss/E/delta"] = delta.detach()
        stats["Loss/E/total"] = loss.detach()
        return loss, stats

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        return self.runner.run(StepContext(step, real=batch["image"]))

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        from ganforge.tasks.translation.base import pick_fixed

        picked = pick_fixed(self._grid_data, min(n, GRID_ROWS), seed, paired=True)["image"]
        return {"image": picked.float() / 127.5 - 1}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        from ganforge.tasks.translation.base import interleave_rows

        encoder = networks.get("E_ema", networks["E"])
        images = inputs["image"].to(next(encoder.parameters()).device)
        _, recon, _ = self.reconstruct(encoder, images)
        return interleave_rows(images, recon.float().clamp(-1, 1))

    def extra_state(self) -> dict[str, Any]:
        return {"generator_hash": self.generator_hash}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        started = state.get("generator_hash")
        if started and started != self.generator_hash:
            raise ConfigError(f"--generator {self.config.generator} has changed since this run started (weights hash "
                              f"{self.generator_hash[:12]}..., the run's {started[:12]}...): train a new encoder")

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "encoder",
            "components": {"encoder": {"class": "encoder.stylegan2", "kwargs": self.e_kwargs, "network": "E"}},
            "resolution": self.data.resolution, "channels": self.data.channels,
            "generator": str(self.config.generator), "generator_hash": self.generator_hash,
        }

