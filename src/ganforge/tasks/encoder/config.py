"""The encoder task's options: the generator it inverts, and the weights of its losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.options import TaskOptions

if TYPE_CHECKING:
    from ganforge.config import TrainConfig


@dataclass
class EncoderOptions(TaskOptions):
    # e4e/pSp's losses at our scale: pixels + the Inception stem's perceptual L1 (LPIPS cannot be had here) on real
    # images and on the generator's own samples, whose true w is known (the latent term), Adam at 1e-3.
    # fse (Feature-Style Encoder, Yao et al. 2022): the same, plus a residual for the generator's 16 x 16 features,
    # the detail one w per layer cannot carry, kept small by `feature_weight`.
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "e4e": dict(lr=1e-3, width=16, latent_weight=1.0, perceptual_weight=1.0, delta_weight=1e-3,
                    real_fraction=0.5, feature_res=0, feature_weight=0.0),
        "fse": dict(lr=1e-3, width=16, latent_weight=1.0, perceptual_weight=1.0, delta_weight=1e-3,
                    real_fraction=0.5, feature_res=16, feature_weight=0.01),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=2.0, batch=16)
    DATA_HELP: ClassVar[str] = ("Real images like those to invert (the generator's training set): built-in name, "
                                "prepared dataset dir, or folder/zip of images, at the generator's resolution; its "
                                "train split is used, the test split kept for `ganforge eval`.")

    generator: str | None = option(None, "The StyleGAN2 to invert: run directory, checkpoint, export or zoo:NAME "
                                   "(required).")
    lr: float | None = option(None, "Adam learning rate.", above=0, default_help="the model's")
    width: int | None = option(None, "Channel width of the encoder (as StyleGAN2's --width).", above=0,
                               default_help="the model's")
    latent_weight: float | None = option(None, "Weight of the MSE to the true w+ on the generator's own samples.",
                                         minimum=0, default_help="the model's")
    perceptual_weight: float | None = option(None, "Weight of the Inception stem's perceptual L1 (0 = pixels only).",
                                             minimum=0, default_help="the model's")
    delta_weight: float | None = option(None, "e4e's penalty on the per-layer offsets from the shared w.",
                                        minimum=0, default_help="the model's")
    feature_res: int | None = option(None, "Resolution of the generator features the encoder also predicts a "
                                     "residual for (0 = none: w+ only).", minimum=0, default_help="the model's")
    feature_weight: float | None = option(None, "Weight of the penalty on the feature residual's size (on every "
                                          "image: the ws should carry what they can).", minimum=0, default_help="the model's")
    real_fraction: float | None = option(None, "Share of each batch that is real images; the rest are the "
                                         "generator's samples.", minimum=0, maximum=1, default_help="the model's")

    def check_given(self, run: TrainConfig) -> None:
        if not self.generator:
            raise ConfigError("train encoder needs --generator RUN: the StyleGAN2 run (or export, zoo:NAME) to invert")

    def check(self, run: TrainConfig) -> None:
        super().check(run)
        res = self.feature_res or 0
        if res and (res & (res - 1) or not 4 <= res <= run.resolution):
            raise ConfigError(f"--feature-res must be 0 or a power of two from 4 to the resolution ({run.resolution}), "
                              f"got {res}")
