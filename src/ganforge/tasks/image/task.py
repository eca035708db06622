"""Task `image`: unconditional or class-conditional image generation from noise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganforge.augment import AUGMENTS
from ganforge.augment.ada import AdaptiveAugment
from ganforge.config import TrainConfig
from ganforge.engine.init_weights import load_init_networks, read_init_weights
from ganforge.engine.phases import Phase, PhaseRunner, StepContext, Term, regularised
from ganforge.errors import ConfigError
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.losses.regularizers import (
    gradient_penalty,
    path_length_penalty,
    r1_penalty,
    r2_penalty,
    zero_centered_from_logits,
)
from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.registry import LOSSES, MODELS, TASKS
from ganforge.tasks.base import DataInfo, Task


@dataclass
class NetworkPair:
    """A generator, a discriminator, and how to rebuild the generator for inference."""

    G: nn.Module
    D: nn.Module
    generator_spec: dict[str, Any]  # {"class": registry name, "kwargs": constructor arguments}
    z_dim: int


@MODELS.register("dcgan")
def build_dcgan(config: TrainConfig, data: DataInfo) -> NetworkPair:
    """Radford et al.'s DCGAN sized by the config; projection D and conditional BN when --cond."""
    num_classes = data.num_classes if config.cond else 0
    d_norm = config.d_norm if config.d_norm != "auto" else ("none" if config.loss == "wgan-gp" else "batch")
    g_kwargs = dict(  # every constructor argument, so a later change of default cannot break old runs
        resolution=config.resolution, channels=data.channels, z_dim=config.z_dim, width=config.width,
        num_classes=num_classes, max_channels=512, label_input=True, cond_norm=True,
    )
    G = DCGANGenerator(**g_kwargs)
    D = DCGANDiscriminator(
        resolution=config.resolution, channels=data.channels, width=config.width, num_classes=num_classes, norm=d_norm
    )
    return NetworkPair(G=G, D=D, generator_spec={"class": "dcgan.generator", "kwargs": g_kwargs, "network": "G"}, z_dim=config.z_dim)


@MODELS.register("stylegan2")
def build_stylegan2(config: TrainConfig, data: DataInfo) -> NetworkPair:
    """StyleGAN2 sized by --width: channels min(64 * width / res, 4 * width) at each resolution."""
    from ganforge.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator

    num_classes = data.num_classes if config.cond else 0
    sizes = dict(channel_base=64 * config.width, channel_max=4 * config.width)
    g_kwargs = dict(resolution=config.resolution, channels=data.channels, z_dim=config.z_dim, w_dim=config.z_dim,
                    num_classes=num_classes, mapping_layers=4, mixing_prob=0.9, **sizes)
    G = StyleGAN2Generator(**g_kwargs)
    D = StyleGAN2Discriminator(resolution=config.resolution, channels=data.channels, num_classes=num_classes, **sizes)
    return NetworkPair(G=G, D=D, generator_spec={"class": "stylegan2.generator", "kwargs": g_kwargs, "network": "G"},
                       z_dim=config.z_dim)


@MODELS.register("r3gan")
def build_r3gan(config: TrainConfig, data: DataInfo) -> NetworkPair:
    """R3GAN's normalisation-free ResNets, sized by --width (4 * width channels up to 16 px)."""
    from ganforge.nets.r3gan import R3GANDiscriminator, R3GANGenerator

    num_classes = data.num_classes if config.cond else 0
    shared = dict(resolution=config.resolution, channels=data.channels, num_classes=num_classes, width=config.width,
                  blocks_per_stage=1, expansion=2, group_width=16, embed_dim=32)
    g_kwargs = dict(z_dim=config.z_dim, **shared)
    G = R3GANGenerator(**g_kwargs)
    D = R3GANDiscriminator(**shared)
    return NetworkPair(G=G, D=D, generator_spec={"class": "r3gan.generator", "kwargs": g_kwargs, "network": "G"},
                       z_dim=config.z_dim)


def make_adam(params: Any, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Adam with the fused kernel where the device has one, else the multi-tensor one."""
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):  # pragma: no cover - older builds without a fused kernel
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def lazy_ratio(interval: int) -> float:
    """StyleGAN2's correction for a regulariser that takes its own optimizer step every `interval` steps.

    The network then takes interval + 1 Adam steps per interval instead of interval, so its rate is
    multiplied by r = interval / (interval + 1) and its betas raised to r, which keeps the rate and
    the moments' time constants per training step; 1 (no correction) when the regulariser runs
    inside the main step.
    """
    return interval / (interval + 1) if interval > 1 else 1.0


def gan_optimizers(config: TrainConfig, g_params: Any, d_params: Any, g_ratio: float = 1.0,
                   d_ratio: float = 1.0) -> dict[str, torch.optim.Optimizer]:
    """The G and D optimizers every adversarial task uses: Adam at the config's rates and betas, each
    corrected by its network's lazy-regularisation ratio (lazy_ratio; 1 when it has no lazy regulariser)."""
    def adam(params: Any, lr: float, ratio: float) -> torch.optim.Optimizer:
        return make_adam(params, lr * ratio, (config.beta1**ratio, config.beta2**ratio))

    return {"G": adam(g_params, config.lr_g, g_ratio), "D": adam(d_params, config.lr_d, d_ratio)}


def make_augment(config: TrainConfig) -> Any:
    """The configured augmentation object; ADA takes its target and speed from the config."""
    if config.augment == "ada":
        return AUGMENTS.get("ada")(target=config.ada_target, speed_kimg=config.ada_kimg)
    return AUGMENTS.get(config.augment)()


@TASKS.register("image")
class ImageTask(Task):
    """Generator vs discriminator on real images; losses and regularisers are composed objects."""

    name = "image"
    loss_names = ("Loss/D/adv", "Loss/G/adv", "Loss/D/r1", "Loss/D/r2", "Loss/D/gp", "Loss/G/pl", "D/real", "D/fake",
                  "Augment/p")

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        if config.cond and data.num_classes < 2:
            raise ConfigError(
                f"--cond needs a labelled dataset (class subfolders or a labelled built-in); {data.name!r} has "
                f"{data.num_classes} classes"
            )
        builder: Callable[[TrainConfig, DataInfo], NetworkPair] = MODELS.get(config.model)
        pair = builder(config, data)
        self.G, self.D = pair.G, pair.D
        self.generator_spec = pair.generator_spec
        self.z_dim = pair.z_dim
        self.conditional = config.cond
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.augment = make_augment(config)  # applied to every image D sees, differentiably
        if config.pl_weight > 0 and not hasattr(self.G, "synthesis"):
            raise ConfigError(f"--pl-weight needs a generator with a mapping network (stylegan2), not {config.model}")
        self.pl_mean = torch.zeros([])  # running mean of path lengths
        self.networks = {"G": self.G, "D": self.D}
        # A regulariser with interval 1 joins its network's main step; a longer one takes its own steps (lazy), and
        # that network's Adam is corrected for them, as StyleGAN2-ADA's training loop does.
        self.d_reg = config.r1_gamma > 0 or config.r2_gamma > 0
        self.g_reg = config.pl_weight > 0
        d_ratio = lazy_ratio(config.r1_interval) if self.d_reg else 1.0
        g_ratio = lazy_ratio(config.pl_interval) if self.g_reg else 1.0
        self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters(), g_ratio, d_ratio)
        self.runner = self._declare_phases()

    def start_fresh(self) -> None:
        """`--init SOURCE`: G (and D when the source holds it) from an earlier run or export, before the EMA copy;
        with D, ADA starts at the p D was last trained at, as a resumed run would."""
        if self.config.init:
            init = read_init_weights(self.config.init)
            self.init_loaded = load_init_networks(init, self.networks, self.generator_spec)
            p = init.state.get("augment_p")
            if p is not None and "D" in self.init_loaded and isinstance(self.augment, AdaptiveAugment):
                self.augment.p = min(float(p), self.augment.max_p)

    # ----------------------------------------------------------------------------------- training
    def _declare_phases(self) -> PhaseRunner:
        """D main (+ gradient penalty), R1/R2, G main, path length: a regulariser with interval 1 joins its network's
        main phase (StyleGAN2-ADA's Dboth/Gboth), a longer one is a lazy phase of its own scaled by the interval."""
        cfg, G, D = self.config, self.G, self.D
        d_terms = [Term(self._d_main)]
        if self.loss.needs_gradient_penalty:
            d_terms.append(Term(self._gradient_penalty, autocast=False))
        phases = [Phase("Dmain", "D", D, loss=d_terms)]
        if self.d_reg:  # R1/R2 are computed outside autocast: their double backward stays fp32
            phases = regularised(phases[0], "Dreg", Term(self._d_penalty, autocast=False), cfg.r1_interval)
        g_main = Phase("Gmain", "G", G, loss=self._g_main, frozen=(D,))  # D frozen: no weight gradients for it
        phases += regularised(g_main, "Greg", Term(self._g_penalty), cfg.pl_interval) if self.g_reg else [g_main]
        return PhaseRunner(self, phases, forward=self._generate, sync=(G, D))

    def _latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.z_dim, device=self.runtime.device)

    def _fake_labels(self, real_labels: torch.Tensor | None) -> torch.Tensor | None:
        # Fakes take the real batch's labels: drawn from the data's label distribution, and the
        # gradient penalty's real/fake interpolates then share one label.
        return real_labels if self.conditional else None

    def _generate(self, ctx: StepContext) -> None:
        # Generate once; D sees a detached copy, G's phase reuses the graph (as the DCGAN paper's code).
        ctx.fake = self.G(self._latents(ctx.real.shape[0]), ctx.fake_labels)

    def _shares_pass(self) -> bool:
        """Whether R1/R2 come from the adversarial loss's own D pass (as R3GAN's and StyleGAN2-ADA's Dboth code):
        when they join D's main phase (interval 1; a lazy phase runs after D's step, at new weights) and that pass
        is fp32, so their double backward stays fp32 as in a separate pass. Same values and gradients, two D
        forwards instead of four; with augmentation the penalty is still on the un-augmented images, through the
        loss pass's draw."""
        return self.d_reg and self.config.r1_interval <= 1 and self.runtime.precision == "fp32"

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, fake = ctx.real, ctx.fake.detach()
        ctx.shared_pass = self._shares_pass()
        if ctx.shared_pass:  # the penalised images: leaves that require grad, as r1_penalty/r2_penalty make them
            cfg = self.config
            real = ctx.r1_images = real.detach().requires_grad_(True) if cfg.r1_gamma > 0 else real
            fake = ctx.r2_images = fake.float().requires_grad_(True) if cfg.r2_gamma > 0 else fake
        ctx.d_real = self.D(self.augment(real), ctx.real_labels)
        ctx.d_fake = self.D(self.augment(fake), ctx.fake_labels)
        ctx.loss_d = self.loss.d_loss(ctx.d_real.float(), ctx.d_fake.float())
        return ctx.loss_d, {}  # its statistics come last, after the regularisers' (train_step)

    def _gradient_penalty(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        gp = gradient_penalty(lambda x: self.D(self.augment(x), ctx.real_labels).float(), ctx.real, ctx.fake)
        return self.config.gp_weight * gp, {"Loss/D/gp": gp.detach()}

    def _d_penalty(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """gamma_1 / 2 * R1 on real images + gamma_2 / 2 * R2 on generated ones (R3GAN's regularised loss)."""
        cfg = self.config
        stats: dict[str, torch.Tensor] = {}
        penalty = torch.zeros((), device=self.runtime.device)
        shared = getattr(ctx, "shared_pass", False)  # set by _d_main in this phase, at these weights
        if cfg.r1_gamma > 0:
            if shared:
                r1 = zero_centered_from_logits(ctx.d_real.float(), ctx.r1_images)
            else:
                r1 = r1_penalty(lambda x: self.D(self.augment(x), ctx.real_labels).float(), ctx.real)
            penalty = penalty + r1 * (cfg.r1_gamma / 2)
            stats["Loss/D/r1"] = r1.detach()
        if cfg.r2_gamma > 0:
            if shared:
                r2 = zero_centered_from_logits(ctx.d_fake.float(), ctx.r2_images)
            else:
                r2 = r2_penalty(lambda x: self.D(self.augment(x), ctx.fake_labels).float(), ctx.fake.float())
            penalty = penalty + r2 * (cfg.r2_gamma / 2)
            stats["Loss/D/r2"] = r2.detach()
        return penalty, stats

    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d_fake_g = self.D(self.augment(ctx.fake), ctx.fake_labels).float()
        d_real_g = None
        if self.loss.relativistic:  # G's loss compares each fake with a real image, as D's does
            with torch.no_grad():
                d_real_g = self.D(self.augment(ctx.real), ctx.real_labels).float()
        ctx.loss_g = self.loss.g_loss(d_fake_g, d_real_g)
        return ctx.loss_g, {}

    def _g_penalty(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """pl_weight * StyleGAN2's path-length penalty on half a batch; updates the running mean of lengths."""
        rt, n = self.runtime, max(ctx.real.shape[0] // 2, 1)
        labels = ctx.fake_labels[:n] if ctx.fake_labels is not None else None
        ws = self.G.map(self._latents(n), labels)
        pl, pl_mean = path_length_penalty(self.G.synthesis, ws, self.pl_mean.to(rt.device))
        self.pl_mean = rt.all_sum(pl_mean.detach().float().cpu()) / rt.world_size
        return pl * self.config.pl_weight, {"Loss/G/pl": pl.detach()}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        rt = self.runtime
        real = batch["image"]  # [N, C, H, W] in [-1, 1]
        real_labels = batch.get("label") if self.conditional else None
        ctx = StepContext(step, real=real, real_labels=real_labels, fake_labels=self._fake_labels(real_labels))
        stats = self.runner.run(ctx)
        self.augment.observe(self.loss.real_signal(ctx.d_real.detach().float(), ctx.d_fake.detach().float()))
        for name, value in self.augment.adapt(real.shape[0] * rt.world_size, rt.all_sum).items():
            stats[name] = torch.tensor(value)
        stats["Loss/D/adv"] = ctx.loss_d.detach()
        stats["Loss/G/adv"] = ctx.loss_g.detach()
        stats["D/real"] = ctx.d_real.detach().float().mean()
        stats["D/fake"] = ctx.d_fake.detach().float().mean()
        return stats

    def extra_state(self) -> dict[str, Any]:
        return {"augment": self.augment.state(), "pl_mean": float(self.pl_mean)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.augment.load_state(state.get("augment", {}))
        self.pl_mean = torch.tensor(float(state.get("pl_mean", 0.0)))

    # ----------------------------------------------------------------------------------- sampling
    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        inputs = {"z": torch.randn(n, self.z_dim, generator=g)}
        if self.conditional:
            inputs["label"] = torch.arange(n) % self.data.num_classes  # training grids: consecutive images walk the classes
        return inputs

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        device = next(G.parameters()).device
        labels = inputs.get("label")
        return G(inputs["z"].to(device), labels.to(device) if labels is not None else None)

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "image",
            "components": {"generator": self.generator_spec},
            "z_dim": self.z_dim,
            "class_names": self.data.class_names if self.conditional else [],
            "resolution": self.data.resolution,
            "channels": self.data.channels,
        }
