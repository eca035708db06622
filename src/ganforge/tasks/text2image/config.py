"""text2image's options: DF-GAN (Tao et al., 2022) as its paper's code trains it, plus DiffAugment and an EMA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.options import GANOptions
from ganforge.text.neighbours import NEIGHBOURS

if TYPE_CHECKING:
    from ganforge.config import TrainConfig

LOSSES = ("hinge", "ns", "lsgan")  # separable losses: D's mismatched pairs are scored as generated ones are


@dataclass
class Text2ImageOptions(GANOptions):
    # DF-GAN's code: hinge loss, G 1e-4 / D 4e-4 with betas (0, 0.9), batch 32, ngf = ndf = 32 (CUB), z of 100, the
    # matching-aware gradient penalty at weight 2 and power 6 on every step. EMA and DiffAugment are this task's
    # additions (issue 30): D sees few images here (3,400 emoji against CUB's 8,855 birds).
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "dfgan": dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9, width=32, z_dim=100),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, batch=32)
    # New runs take XMC-GAN's contrastive term at weight 1 (issue 30: R-precision at 100 kimg 0.10 -> 0.13 held out,
    # 0.10 -> 0.17 on training captions); runs made before it resume without it (their D has no contrastive heads).
    # Skin tone (issue 30): D read the tone of real images at chance-and-a-bit (0.28 of five at 300 kimg), so G drew
    # the tones squeezed together; hard mismatches, hard contrastive negatives and colour-free DiffAugment make it
    # read them (tone accuracy 0.39 -> 0.60 on training captions in 50 kimg). Runs made before resume without them.
    NEW_RUN_DEFAULTS: ClassVar[dict[str, Any]] = dict(data="emoji", resolution=64, contrastive_weight=1.0,
                                                      contrastive_hard=8, hard_negatives=0.5)
    DATA_HELP: ClassVar[str] = ("emoji or emoji-twitter (captions from the emoji names, short names, subcategories, "
                                "skin tones and emojilib keywords), or a folder/zip of images with NAME.txt beside "
                                "each image (one caption per line) or a captions.jsonl.")

    z_dim: int | None = option(None, "Noise size.", minimum=1, default_help="the model's")
    augment: str = option("auto", "Augment D's inputs, real and fake: diffaug (colour, translation, cutout) | "
                          "diffaug-shape (translation and cutout: D sees the colours a caption names, such as skin "
                          "tones, as they are) | none | auto (diffaug-shape).",
                          choices=("auto", "diffaug", "diffaug-shape", "none"), inert=("none",))
    ma_gp_weight: float = option(2.0, "Weight of DF-GAN's matching-aware gradient penalty (0 = off).", minimum=0,
                                 inert=(0,))
    ma_gp_power: float = option(6.0, "Power of the gradient norm in that penalty (DF-GAN: 6).", above=0)
    contrastive_weight: float = option(
        0.0, "Weight of XMC-GAN's image-sentence contrastive term (InfoNCE in a space D projects both into): D "
        "learns it on real pairs, G on its own images (0 = off; new runs: 1).", minimum=0)
    contrastive_temperature: float = option(0.1, "Temperature of that term (XMC-GAN: 0.1).", above=0)
    hard_negatives: float = option(
        0.0, "Share of D's mismatched pairs that pair a real image with one of the nearest captions of other images "
        "(on emoji mostly the same emoji in another skin tone or gender) instead of the next image's caption "
        "(DF-GAN's shift): D must read every word, and G with it (0 = DF-GAN's pairs only; new runs: 0.5).",
        minimum=0, maximum=1)
    contrastive_hard: int = option(
        0, "Nearest captions of other images (as --hard-negatives finds them) added to each image's row of the "
        "contrastive term as negatives, for D's real images and G's alike: D's heads must tell a caption from its "
        "other skin tones, and G must draw the difference (0 = the batch's captions only; new runs: 8; none without "
        "--contrastive-weight).", minimum=0,
        maximum=NEIGHBOURS)

    def resolve(self, run: TrainConfig) -> None:
        if self.augment == "auto":  # DiffAugment's brightness alone (+-0.5) spans several skin tones
            self.augment = "diffaug-shape"
        if not self.contrastive_weight:
            self.contrastive_hard = 0  # no contrastive term to add negatives to

    def check(self, run: TrainConfig) -> None:
        super().check(run)
        if self.loss not in LOSSES:
            raise ConfigError(f"--loss {self.loss} does not fit text2image's matching-aware D; use one of "
                              f"{', '.join(LOSSES)}")
        if run.resolution < 8 or run.resolution & (run.resolution - 1):
            raise ConfigError(f"text2image needs a power-of-two --resolution of at least 8, got {run.resolution}")
