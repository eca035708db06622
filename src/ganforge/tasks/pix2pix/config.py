"""pix2pix's options: paired translation with a U-Net (Isola et al.) or SPADE (Park et al.) generator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.options import check_perceptual_crop
from ganforge.tasks.translation.config import TranslationOptions

if TYPE_CHECKING:
    from ganforge.config import TrainConfig


@dataclass
class Pix2PixOptions(TranslationOptions):
    # pix2pix (Isola et al.): vanilla GAN + 100 * L1, Adam 2e-4 (0.5, 0.999). SPADE (Park et al.): hinge loss, feature
    # matching 10, its two-time-scale Adam (G 1e-4, D 4e-4, betas 0, 0.9). No EMA (ema_kimg 0) for these batch-norm
    # generators: an EMA averages weights but would copy the live BN running statistics, which do not belong to the
    # averaged weights; the pipeline then uses G itself, as the paper's code.
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "unet": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, width=64, l1_weight=100.0,
                     fm_weight=0.0, d_layers=3, ema_kimg=0.0, residual=False, upsample="transpose",
                     perceptual_weight=0.0),
        "spade": dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9, width=64, l1_weight=0.0,
                      fm_weight=10.0, d_layers=3, ema_kimg=0.0, residual=False, perceptual_weight=0.0),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, batch=64)
    DATA_HELP: ClassVar[str] = ("emoji (google -> twitter), a folder with A/ and B/, A|B images side by "
                                 "side, edges:SRC, gray:SRC or labels:FOLDER.")

    l1_weight: float | None = option(None, "Weight of L1 to the target.", minimum=0)
    fm_weight: float | None = option(None, "Weight of discriminator feature matching.", minimum=0)
    perceptual_weight: float | None = option(None, "Weight of a perceptual L1 on the FID Inception network's first "
                                             "convolutions (SPADE's VGG term, whose weights are not available here); "
                                             "0 = off.", minimum=0)

    def check_given(self, run: TrainConfig) -> None:
        if run.model == "spade" and self.upsample not in (None, "transpose"):  # transpose: left as the default
            raise ConfigError("--upsample applies to --model unet: spade already upsamples by resizing")
        check_perceptual_crop(self.perceptual_weight, run.resolution)
