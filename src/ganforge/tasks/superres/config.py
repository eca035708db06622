"""The super-resolution task's options: SRGAN's MSRResNet and ESRGAN's RRDBNet, x2 or x4."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.config import budget
from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.options import PatchGANOptions, check_perceptual_crop

if TYPE_CHECKING:
    from ganforge.config import TrainConfig

SCALES = (2, 4)
DEGRADATIONS = ("bicubic", "realistic")
MIN_LR = 4  # pixels: the smallest low-resolution side a superres run trains on


@dataclass
class SuperresOptions(PatchGANOptions):
    # BasicSR's MSRResNet / ESRGAN's RRDBNet: relativistic average GAN, L1 1e-2 + adv 5e-3 as ESRGAN, plus its
    # perceptual term (weight 1; resolve() sets it by crop size) with the FID Inception's stem in place of VGG
    # (losses/perceptual.py), Adam (0.9, 0.99).
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "srresnet": dict(loss="ragan", lr_g=2e-4, lr_d=2e-4, beta1=0.9, beta2=0.99, width=64, n_blocks=16,
                         l1_weight=1e-2, adv_weight=5e-3, d_layers=3),
        "rrdb": dict(loss="ragan", lr_g=2e-4, lr_d=2e-4, beta1=0.9, beta2=0.99, width=64, n_blocks=23,
                     l1_weight=1e-2, adv_weight=5e-3, d_layers=3),
    }
    # SRGAN and ESRGAN train on 16 crops a step: on a per-pixel loss, 16 crops give as good a step as 64 (the loss
    # after 250 steps is the same), so 64 would spend four times the images per step (docs/benchmarks.md).
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, scale=4, degradation="bicubic",
                                              batch=16)
    DATA_HELP: ClassVar[str] = ("Built-in name (photos, emoji, ...), or folder/zip of images; low-resolution "
                                 "inputs are made from them (--degradation).")

    scale: int | None = option(None, "Upscaling factor, 2 or 4; --resolution is the high-resolution side.",
                               choices=SCALES)
    degradation: str | None = option(None, "How inputs are made: bicubic (classic) | realistic (Real-ESRGAN-style "
                                     "blur, resize, noise, JPEG).", choices=DEGRADATIONS)
    l1_weight: float | None = option(None, "Weight of L1 to the target.", minimum=0)
    adv_weight: float | None = option(None, "Relativistic adversarial loss weight (0 = a pixel-loss model).",
                                      minimum=0)
    perceptual_weight: float | None = option(None, "Weight of a perceptual L1 on the FID Inception network's first "
                                             "convolutions (ESRGAN's VGG term, whose weights are not available "
                                             "here), in the adversarial phase; 0 = off.", minimum=0,
                                             default_help="1, or 0 for crops under 20 px")
    pretrain_kimg: float | None = option(None, "kimg of L1-only pre-training before the adversarial phase.",
                                         minimum=0, default_help="half of --kimg; 0 with --init; with --minutes "
                                         "alone give --kimg or --pretrain-kimg")
    init: str | None = option(None, "Start the generator from this (pixel-loss) run.")
    n_blocks: int | None = option(None, "Residual blocks of the generator.", minimum=0)
    d_norm: str = option("auto", "Discriminator normalisation: auto | batch | none (auto and batch are batch norm "
                         "without spectral norm, as ESRGAN).", choices=("auto", "batch", "none"))

    def check_given(self, run: TrainConfig) -> None:
        if run.minutes is not None and run.kimg is None and self.pretrain_kimg is None and not self.init \
                and self.adv_weight != 0:
            raise ConfigError(
                "superres pre-trains on L1 for half of the --kimg budget, and --minutes alone gives no kimg to halve: "
                "give --kimg (with or without --minutes) or --pretrain-kimg"
            )
        scale = self.scale or self.DEFAULTS["scale"]
        if scale in SCALES and (run.resolution % scale or run.resolution // scale < MIN_LR):
            raise ConfigError(
                f"--resolution {run.resolution} is the high-resolution crop side: it must be a multiple of --scale "
                f"{scale} and give low-resolution inputs of at least {MIN_LR} px (e.g. --resolution "
                f"{scale * 16} for {scale * 16 // scale} -> {scale * 16})"
            )
        check_perceptual_crop(self.perceptual_weight, run.resolution)

    def resolve(self, run: TrainConfig) -> None:
        if self.pretrain_kimg is None:
            kimg = budget(run.kimg, run.minutes)  # None (--minutes alone) is refused above unless nothing pre-trains
            self.pretrain_kimg = 0.0 if self.init or kimg is None else kimg / 2
        if self.perceptual_weight is None:
            from ganforge.losses.perceptual import MIN_SIDE

            # ESRGAN's weight 1 where the Inception stem can take the crops; off below that.
            self.perceptual_weight = 1.0 if run.resolution >= MIN_SIDE else 0.0
