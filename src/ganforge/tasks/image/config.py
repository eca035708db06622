"""The image task's options: generation from noise, unconditional or class-conditional."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.options import GANOptions

if TYPE_CHECKING:
    from ganforge.config import TrainConfig

AUGMENTS = ("auto", "none", "diffaug", "ada")
ADA_AUTO_LIMIT = 30_000  # `--augment auto` picks ADA for data sets smaller than this


@dataclass
class ImageOptions(GANOptions):
    # DCGAN follows Radford et al.; StyleGAN2 follows StyleGAN2-ADA's small-image setup; R3GAN (Huang et al. 2024)
    # applies R1 and R2 every step, in D's step (no lazy regularisation).
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "dcgan": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0,
                      r1_interval=16, pl_weight=0.0, z_dim=100, width=64),
        "stylegan2": dict(loss="ns", lr_g=2.5e-3, lr_d=2.5e-3, beta1=0.0, beta2=0.99, r1_gamma=0.05, r2_gamma=0.0,
                          r1_interval=16, pl_weight=0.0, z_dim=128, width=32),
        "r3gan": dict(loss="rpgan", lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99, r1_gamma=0.05, r2_gamma=0.05,
                      r1_interval=1, pl_weight=0.0, z_dim=64, width=32),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, batch=64)
    DATA_HELP: ClassVar[str] = ("Built-in name (mnist, emoji, emoji-twitter, photos, digits), prepared "
                                 "dataset dir, or folder/zip of images.")

    cond: bool = option(False, "Class-conditional (needs a labelled dataset).",
                        elsewhere="the other tasks are conditioned on their inputs, or, video, unconditional")
    augment: str = option("auto", "Augment D's inputs, real and fake: none | diffaug (colour, translation, cutout) | "
                          "ada (adaptive; p steered by D's overfitting) | auto (ada under 30k images, else none). With "
                          "--cond on classes that flips or rotations change (digits), use none or diffaug.",
                          choices=AUGMENTS, inert=("none",), elsewhere="its augmentations are for generating images")
    ada_target: float = option(0.6, "ADA: target of E[sign(D(real))], in (0, 1).")
    ada_kimg: float = option(100.0, "ADA: kimg for p to move from 0 to 1.", above=0)
    r1_gamma: float | None = option(None, "R1 penalty weight on real images (0 = off).", minimum=0, inert=(0,))
    r2_gamma: float | None = option(None, "R2 penalty weight on generated images (0 = off).", minimum=0, inert=(0,))
    r1_interval: int | None = option(None, "Apply R1/R2 every N steps, scaled by N, with Adam's lr and betas "
                                     "corrected as StyleGAN2-ADA (N > 1) or inside D's step (N = 1).", minimum=1)
    pl_weight: float | None = option(None, "StyleGAN2 path-length regularisation weight (0 = off; the paper: 2).",
                                     minimum=0, inert=(0,))
    pl_interval: int = option(4, "Apply the path-length penalty every N steps, scaled by N.", minimum=1)
    gp_weight: float = option(10.0, "WGAN-GP gradient penalty weight.")
    z_dim: int | None = option(None, "Latent size.", minimum=1)
    d_norm: str = option("auto", "Discriminator normalisation: auto | batch | none (auto: none for wgan-gp).",
                         choices=("auto", "batch", "none"))
    eval_every_kimg: float | None = option(None, "Log FID/KID/precision/recall every N kimg and keep the best-FID "
                                           "checkpoint in checkpoints/best.", flag="--eval-every", above=0,
                                           default_help="never", elsewhere="evaluate its runs afterwards: ganforge "
                                           "eval RUN")
    eval_n: int = option(1000, "Images per evaluation.", minimum=4)
    init: str | None = option(None, "Start from this run, export or zoo:NAME: G from its generator, D from its "
                              "discriminator when it holds one (an export written with --with-discriminator); "
                              "the optimisers and the EMA start afresh. The networks must be built the same way.")

    def check(self, run: TrainConfig) -> None:
        super().check(run)
        if not 0 < self.ada_target < 1:
            raise ConfigError(f"--ada-target must lie in (0, 1), got {self.ada_target}")
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            raise ConfigError("--loss wgan-gp needs a discriminator without batch norm: use --d-norm none")

    def for_dataset(self, count: int) -> ImageOptions:
        """`--augment auto` becomes ada under 30k images, else none."""
        if self.augment != "auto":
            return self
        return dataclasses.replace(self, augment="ada" if count < ADA_AUTO_LIMIT else "none")
