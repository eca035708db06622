"""Task `superres`: single-image super-resolution x2 or x4 (SRGAN, Ledig et al., 2017; ESRGAN, Wang et al., 2018).

Models (`--model`): `srresnet` (default; BasicSR's MSRResNet, 16 blocks) or `rrdb` (ESRGAN, 23 blocks);
`--n-blocks` and `--width` size them. The discriminator is a PatchGAN judging the high-resolution image
alone, with ESRGAN's batch norm (`--d-norm auto`/`batch`; `none` for neither), trained with the relativistic
average loss (`--loss ragan`).

Two phases in one run, by images shown (a pure function of the step, so resume is exact):

1. pixel-loss pre-training for `--pretrain-kimg` (default: half the `--kimg` budget): G minimises L1 only
   and D is not trained;
2. adversarial fine-tuning: `--l1-weight` (1e-2) x L1 + `--adv-weight` (5e-3) x RaGAN, ESRGAN's weights, plus
   `--perceptual-weight` x a perceptual L1 (ESRGAN: 1 on VGG features; no VGG weights are available here, so
   losses/perceptual.py compares the FID Inception network's first convolutions; default 1, 0 below 20 px crops).

`--adv-weight 0` makes a pixel-loss (PSNR-oriented) model; `--init RUN` starts G (and its EMA) from such a
run's generator, and then pre-training defaults to 0. Adam is scale-invariant, so keeping the 1e-2 on L1
in the first phase changes nothing but the logged numbers, and nothing jumps when the phase changes.

Data: `data.superres.resolve_superres(--data, --resolution, split="train")`: whole sprites (emoji) or
sources at 2R from which each step draws random R x R crops (flipped and rotated), degraded to R / scale
by `--degradation` bicubic | realistic (`data.degrade`), all seeded by (seed, step, position in the batch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import TrainConfig
from ganforge.data.degrade import centre_crop, degrade, pair_rng, training_pair
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.errors import ConfigError
from ganforge.imaging import tensor_to_uint8, to_signed
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.losses.perceptual import InceptionPerceptualLoss
from ganforge.losses.reconstruction import l1_loss
from ganforge.nets.patchgan import PatchGANDiscriminator
from ganforge.nets.sr import RRDBNet, SRResNet
from ganforge.registry import LOSSES, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData, batch_positions
from ganforge.tasks.image.task import gan_optimizers
from ganforge.tasks.translation.base import GRID_ROWS, check_discriminator_fits, interleave_rows, pick_fixed

SR_GENERATORS: dict[str, tuple[str, type[nn.Module]]] = {
    "srresnet": ("sr.srresnet", SRResNet),
    "rrdb": ("sr.rrdb", RRDBNet),
}
# `--d-norm`: auto and batch are ESRGAN's batch norm without spectral norm; none is neither. A spectrally normalised
# PatchGAN was the default until 2026-12-03: G moved it back to chance within 1 kimg of fine-tuning (docs/benchmarks.md).
SR_D_NORMS: dict[str, dict[str, Any]] = {
    "batch": dict(norm="batch", spectral=False),
    "none": dict(norm="none", spectral=False),
}
SR_D_NORMS["auto"] = SR_D_NORMS["batch"]  # one entry, so the default cannot drift from what --d-norm batch builds
SR_LOSSES = ("ragan", "ns", "lsgan", "hinge", "rpgan")
GRID_SEED = 20240


def to_float_nchw(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 [N, H, W, C] -> float [N, C, H, W] in [-1, 1] on `device` (bytes are copied, then converted there)."""
    return to_signed(torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2))


def load_init_generator(G: nn.Module, config: TrainConfig, channels: int) -> str:
    """Load `--init RUN`'s generator (its EMA copy when kept) into G; returns the checkpoint used."""
    from ganforge.engine.checkpoint import latest_checkpoint, load_checkpoint

    run = Path(str(config.init))
    run_dir = next((p for p in [run, *run.parents][:4] if (p / "config.json").is_file()), None)
    if run_dir is None:
        raise ConfigError(f"--init {run}: not a run directory (no config.json)")
    other = json.loads((run_dir / "config.json").read_text())
    for key in ("task", "model", "scale", "width", "n_blocks"):
        if other.get(key) != getattr(config, key):
            raise ConfigError(f"--init {run} was trained with {key} {other.get(key)!r}, this run has "
                              f"{getattr(config, key)!r}: they must match")
    ckpt = latest_checkpoint(run)
    weights, _ = load_checkpoint(ckpt)
    state = weights.get("G_ema", weights.get("G"))
    if state is None:
        raise ConfigError(f"--init {ckpt} holds no generator weights")
    try:
        G.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(f"--init {ckpt} does not fit this generator ({channels} channels): {exc}") from exc
    return str(ckpt)


@TASKS.register("superres")
class SuperResTask(Task):
    """G(low resolution) should match the high-resolution crop (L1), then also fool a relativistic D."""

    name = "superres"
    loss_names = ("Loss/G/l1", "Loss/G/adv", "Loss/G/perceptual", "Loss/D/adv", "D/real", "D/fake", "Phase/adversarial")
    ema_network = "G"
    grid_columns = 3  # bicubic | output | truth

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        from ganforge.data.superres import resolve_superres

        sources = resolve_superres(config.data, config.resolution, split="train", strict=config.strict,
                                   progress=progress)
        info = DataInfo(name=sources.name, resolution=config.resolution, channels=sources.channels,
                        count=len(sources), in_channels=sources.channels, counts={"hr": len(sources)})
        return TrainData(arrays={"hr": sources.images}, info=info, paired=True)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        if config.model not in SR_GENERATORS:
            raise ConfigError(f"task superres takes --model {' or '.join(SR_GENERATORS)}, got {config.model!r}")
        if config.loss not in SR_LOSSES:
            raise ConfigError(f"superres takes --loss {', '.join(SR_LOSSES)} (ragan is ESRGAN's), got {config.loss!r}")
        self.scale = int(config.scale)
        self.low = config.resolution // self.scale
        class_name, cls = SR_GENERATORS[config.model]
        g_kwargs = dict(channels=data.channels, scale=self.scale, width=config.width, n_blocks=config.n_blocks)
        self.G = cls(**g_kwargs)
        self.generator_spec = {"class": class_name, "kwargs": g_kwargs, "network": "G"}
        self.init_checkpoint: str | None = None  # `--init`'s checkpoint, once start_fresh() has loaded it
        self.D = PatchGANDiscriminator(in_channels=data.channels, width=config.width, d_layers=config.d_layers,
                                       **SR_D_NORMS[config.d_norm])
        check_discriminator_fits(self.D, config.resolution, config)
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
        self.runner = PhaseRunner(self, forward=self._generate, phases=[
            # D trains only once pre-training is over; its buffers (batch norm) are averaged right after its step.
            Phase("Dmain", "D", self.D, loss=self._d_main, when=lambda ctx: ctx.adversarial, sync=(self.D,)),
            Phase("Gmain", "G", self.G, loss=self._g_main, frozen=(self.D,)),
        ])
        self._grid_data: dict[str, torch.Tensor] = {}
        self.perceptual: InceptionPerceptualLoss | None = None  # built on the run's device by attach()

    def attach(self, runtime: Any) -> None:
        super().attach(runtime)
        if self.config.perceptual_weight and self.config.adv_weight:
            self.perceptual = InceptionPerceptualLoss(device=runtime.device)

    def start_fresh(self) -> None:
        """`--init RUN`: start G from that run's generator. Only for a fresh run: a resumed one restores its own
        weights, so the init run may since have been moved or deleted."""
        if self.config.init:
            self.init_checkpoint = load_init_generator(self.G, self.config, self.data.channels)

    # ----------------------------------------------------------------------------------- training
    def make_pairs(self, sources: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Sources [N, C, S, S] in [-1, 1] -> (low [N, C, R/s, R/s], high [N, C, R, R]) on their device.

        Item i's crop and degradation are seeded by its position in the global batch, so they are a pure
        function of (seed, step) whatever the number of processes."""
        cfg, rt = self.config, self.runtime
        rank, world = (rt.rank, rt.world_size) if rt is not None else (0, 1)
        src = tensor_to_uint8(sources)  # exact: the sources are stored uint8 mapped to [-1, 1]
        highs, lows = [], []
        for image, position in zip(src, batch_positions(step, cfg.batch, rank, world), strict=True):
            rng = pair_rng(cfg.seed, step, position)
            hr, lr = training_pair(image, cfg.resolution, self.scale, cfg.degradation, rng)
            highs.append(hr)
            lows.append(lr)
        device = sources.device
        low, high = to_float_nchw(np.stack(lows), device), to_float_nchw(np.stack(highs), device)
        if sources.is_contiguous(memory_format=torch.channels_last) and not sources.is_contiguous():
            low = low.contiguous(memory_format=torch.channels_last)
            high = high.contiguous(memory_format=torch.channels_last)
        return low, high

    def _generate(self, ctx: StepContext) -> None:
        ctx.fake = self.G(ctx.low)  # [N, C, R, R]: D's phase sees a detached copy, G's phase reuses the graph

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d_real = self.D(ctx.high).float()
        d_fake = self.D(ctx.fake.detach()).float()
        loss_d = self.loss.d_loss(d_real, d_fake)
        return loss_d, {"Loss/D/adv": loss_d.detach(), "D/real": d_real.detach().mean(), "D/fake": d_fake.detach().mean()}

    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L1 alone while pre-training; then + the relativistic adversarial term and the perceptual one."""
        cfg, fake, high = self.config, ctx.fake, ctx.high
        stats: dict[str, torch.Tensor] = {}
        ctx.l1 = l1_loss(fake.float(), high.float())
        loss_g = cfg.l1_weight * ctx.l1
        if ctx.adversarial:
            with torch.no_grad():
                real_logits = self.D(high).float()  # after D's step, as its fake logits below
            loss_g_adv = self.loss.g_loss(self.D(fake).float(), real_logits)
            loss_g = loss_g + cfg.adv_weight * loss_g_adv
            stats["Loss/G/adv"] = loss_g_adv.detach()
            if self.perceptual is not None:
                perceptual = self.perceptual(fake, high)
                loss_g = loss_g + cfg.perceptual_weight * perceptual
                stats["Loss/G/perceptual"] = perceptual.detach()
        return loss_g, stats

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        low, high = self.make_pairs(batch["hr"], step)  # [N, C, R/s, R/s], [N, C, R, R] in [-1, 1]
        ctx = StepContext(step, low=low, high=high, adversarial=self.adversarial_at(step))
        stats: dict[str, torch.Tensor] = {"Phase/adversarial": torch.tensor(float(ctx.adversarial), device=low.device)}
        stats.update(self.runner.run(ctx))
        stats["Loss/G/l1"] = ctx.l1.detach()
        return stats

    # ----------------------------------------------------------------------------------- sampling
    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = arrays

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """Centred crops of a fixed choice of training sources and their degraded inputs (seeded)."""
        picked = pick_fixed(self._grid_data, min(n, GRID_ROWS), seed, paired=True)["hr"]  # uint8 [n, C, S, S]
        highs = [centre_crop(im, self.config.resolution) for im in picked.permute(0, 2, 3, 1).numpy()]
        lows = [degrade(hr, self.scale, self.config.degradation, pair_rng(GRID_SEED, 0, i)) for i, hr in enumerate(highs)]
        cpu = torch.device("cpu")
        return {"low": to_float_nchw(np.stack(lows), cpu), "high": to_float_nchw(np.stack(highs), cpu)}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        device = next(G.parameters()).device
        low, high = inputs["low"].to(device), inputs["high"].to(device)
        bicubic = F.interpolate(low, scale_factor=self.scale, mode="bicubic", align_corners=False).clamp(-1, 1)
        out = G(low).float().clamp(-1, 1)
        channels = 3 if out.shape[1] == 3 else 1
        rows = [t.repeat(1, 3 // channels, 1, 1) if channels == 1 else t for t in (bicubic, out, high.float())]
        return interleave_rows(*rows)

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "superres",
            "task": "superres",
            "model": self.config.model,
            "components": {"generator": self.generator_spec},
            "resolution": self.config.resolution,
            "scale": self.scale,
            "channels": self.data.channels,
            "degradation": self.config.degradation,
        }
