"""The inpainting task's options: fill holes and outpaint with a LaMa-style generator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ganforge.options import option
from ganforge.tasks.options import PatchGANOptions


@dataclass
class InpaintOptions(PatchGANOptions):
    # LaMa-style (Suvorov et al.): FFC ResNet G (Adam 1e-3) against a spectrally normalised PatchGAN (1e-4), hinge loss,
    # feature matching 10. LaMa itself trains non-saturating + R1 (gamma 0.001, adversarial weight 10, FM 100, a
    # batch-norm PatchGAN): hinge is our choice, not measured against it. Hole-weighted L1 (PConv's 6:1) in place of
    # LaMa's high-receptive-field perceptual loss.
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "lama": dict(loss="hinge", lr_g=1e-3, lr_d=1e-4, beta1=0.9, beta2=0.999, width=32, l1_weight=10.0,
                     hole_weight=6.0, fm_weight=10.0, d_layers=3, n_blocks=4),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, batch=64)
    DATA_HELP: ClassVar[str] = ("Built-in name (emoji, photos, ...), prepared dataset dir, or folder/zip of "
                                 "images; holes are drawn per batch.")

    l1_weight: float | None = option(None, "Weight of the hole-weighted L1 to the original.", minimum=0)
    hole_weight: float | None = option(None, "L1 weight of hole pixels against 1 for known ones.", above=0)
    fm_weight: float | None = option(None, "Weight of discriminator feature matching.", minimum=0)
    n_blocks: int | None = option(None, "Fast Fourier convolution blocks of the generator.", minimum=0)
