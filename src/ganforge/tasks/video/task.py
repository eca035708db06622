"""Task `video`: clips generated from noise by VGAN's two-stream generator (Vondrick et al., 2016).

G (nets/vgan.py) composes a moving foreground, its mask and a static background into a clip; D is the
3D-convolution clip discriminator (nets/video_disc.py), which judges whole clips [N, T, C, H, W]. The step is
the image task's one-forward GAN step on clips, plus VGAN's L1 sparsity penalty on the mask in G's loss
(`--mask-weight`, 0.1 as the authors' code). The data are any clip set of `data.video.resolve_video`
(moving-emoji, moving-mnist, a folder of videos) loaded by `tasks.clips.load_clip_data`; `kimg` counts clips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext, Term
from ganforge.errors import ConfigError
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.nets.vgan import VGANGenerator, mask_l1
from ganforge.nets.video_disc import VideoDiscriminator
from ganforge.registry import LOSSES, MODELS, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.clips import CLIP_KEY, load_clip_data
from ganforge.tasks.image.task import NetworkPair, gan_optimizers

GRID_CLIPS = 8  # clips in each sample grid, one row of frames each (as reals.png)


@MODELS.register("vgan")
def build_vgan(config: TrainConfig, data: DataInfo) -> NetworkPair:
    """VGAN's two-stream generator and a 3D-conv discriminator of the same width, for clips of `data.frames`."""
    assert data.frames is not None, "video models need clip data (DataInfo.frames)"
    g_kwargs = dict(resolution=config.resolution, frames=data.frames, channels=data.channels, z_dim=config.z_dim,
                    width=config.width, max_channels=512, upsample=config.upsample)
    G = VGANGenerator(**g_kwargs)
    D = VideoDiscriminator(in_channels=data.channels, frames=data.frames, resolution=config.resolution,
                           width=config.width, max_channels=512, spectral=True)
    return NetworkPair(G=G, D=D, generator_spec={"class": "vgan.generator", "kwargs": g_kwargs, "network": "G"},
                       z_dim=config.z_dim)


@TASKS.register("video")
class VideoTask(Task):
    """Clip GAN: VGAN's generator against a 3D-conv discriminator, with a sparse foreground mask."""

    name = "video"
    loss_names = ("Loss/D/adv", "Loss/G/adv", "Loss/G/mask", "D/real", "D/fake")  # Loss/G/mask: the mask's mean

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        return load_clip_data(config, config.clip_frames, progress)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        if data.frames is None:
            raise ConfigError(f"task video trains on clips; {data.name!r} holds still images")
        builder: Callable[[TrainConfig, DataInfo], NetworkPair] = MODELS.get(config.model)
        pair = builder(config, data)
        self.G, self.D = pair.G, pair.D
        self.generator_spec = pair.generator_spec
        self.z_dim = pair.z_dim
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        if self.loss.needs_gradient_penalty:
            raise ConfigError(f"--loss {config.loss} is not supported by video (its gradient penalty is for images)")
        self.grid_columns = data.frames  # sample grids: one row of frames per clip
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
        self.runner = PhaseRunner(self, forward=self._generate, sync=(self.G, self.D), phases=[
            Phase("Dmain", "D", self.D, loss=self._d_main),
            # G: the adversarial loss plus VGAN's mask prior, D frozen.
            Phase("Gmain", "G", self.G, loss=(Term(self._g_main), Term(self._mask_penalty, autocast=False)),
                  frozen=(self.D,)),
        ])

    def _generate(self, ctx: StepContext) -> None:
        # Generate once; D sees a detached copy, G's phase reuses the graph.
        out = self.G(torch.randn(ctx.real.shape[0], self.z_dim, device=self.runtime.device), streams=True)
        ctx.fake, ctx.mask = out["video"], out["mask"]  # [N, T, C, H, W], [N, T, 1, H, W]

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        ctx.d_real = self.D(ctx.real)
        ctx.d_fake = self.D(ctx.fake.detach())
        ctx.loss_d = self.loss.d_loss(ctx.d_real.float(), ctx.d_fake.float())
        return ctx.loss_d, {}

    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d_fake_g = self.D(ctx.fake).float()
        d_real_g = None
        if self.loss.relativistic:
            with torch.no_grad():
                d_real_g = self.D(ctx.real).float()
        ctx.loss_g = self.loss.g_loss(d_fake_g, d_real_g)
        return ctx.loss_g, {}

    def _mask_penalty(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """VGAN's L1 sparsity prior on the foreground mask, in fp32."""
        ctx.loss_mask = mask_l1(ctx.mask.float())
        return self.config.mask_weight * ctx.loss_mask, {}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        ctx = StepContext(step, real=batch[CLIP_KEY])  # [N, T, C, H, W] in [-1, 1]
        self.runner.run(ctx)
        return {
            "Loss/D/adv": ctx.loss_d.detach(), "Loss/G/adv": ctx.loss_g.detach(), "Loss/G/mask": ctx.loss_mask.detach(),
            "D/real": ctx.d_real.detach().float().mean(), "D/fake": ctx.d_fake.detach().float().mean(),
        }

    # ----------------------------------------------------------------------------------- sampling
    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        return {"z": torch.randn(min(n, GRID_CLIPS), self.z_dim, generator=g)}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        clips = G(inputs["z"].to(next(G.parameters()).device))  # [n, T, C, H, W]
        return clips.flatten(0, 1)  # [n * T, C, H, W]: rows of grid_columns = T frames

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "video",
            "components": {"generator": self.generator_spec},
            "z_dim": self.z_dim,
            "class_names": [],
            "resolution": self.data.resolution,
            "channels": self.data.channels,
            "frames": self.data.frames,
        }
