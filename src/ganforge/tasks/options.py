"""Option groups several tasks share: a task's config dataclass inherits the groups it reads and adds its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganforge.options import TaskOptions, option

if TYPE_CHECKING:
    from ganforge.config import TrainConfig


@dataclass
class GANOptions(TaskOptions):
    """A generator and a discriminator, each trained by Adam: every built-in task."""

    loss: str | None = option(None, "Adversarial loss: ns | hinge | lsgan | wgan-gp | rpgan | ragan.",
                              default_help="the model's")
    lr_g: float | None = option(None, "Generator learning rate.", above=0, default_help="the model's")
    lr_d: float | None = option(None, "Discriminator learning rate.", above=0, default_help="the model's")
    beta1: float | None = option(None, "Adam beta1.", default_help="the model's")
    beta2: float | None = option(None, "Adam beta2.", default_help="the model's")
    width: int | None = option(None, "Channel width of the outer layers.", above=0, default_help="the model's")

    def check(self, run: TrainConfig) -> None:
        from ganforge.errors import ConfigError

        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError("Adam betas must lie in [0, 1)")


@dataclass
class PatchGANOptions(GANOptions):
    """A PatchGAN discriminator (pix2pix's 70x70 at 3 layers)."""

    d_layers: int | None = option(None, "Strided layers of the PatchGAN discriminator (3 = 70x70 patches).",
                                  minimum=1, maximum=8)


def check_perceptual_crop(weight: float | None, resolution: int) -> None:
    """The perceptual loss's Inception stem needs crops of at least MIN_SIDE pixels."""
    from ganforge.errors import ConfigError
    from ganforge.losses.perceptual import MIN_SIDE

    if weight and resolution < MIN_SIDE:
        raise ConfigError(f"--perceptual-weight needs --resolution of at least {MIN_SIDE} (the Inception stem shrinks a "
                          f"crop about five times), got {resolution}")
