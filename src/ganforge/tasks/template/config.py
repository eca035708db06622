"""The template task's options: the fields it reads beyond what every run has (config.TrainConfig)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ganforge.options import option
from ganforge.tasks.options import GANOptions


@dataclass
class TemplateOptions(GANOptions):
    # The models the task takes and their defaults (the first is the task's default model). A model's defaults fill
    # the fields left None, its own and the run's (loss, lr_g, batch, ...).
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "linear": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, width=1),
    }
    # Defaults for what no model sets.
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, batch=64)

    # One option() per setting: its default, its --help text and its range; `ganforge train template --z-dim 8`.
    z_dim: int = option(100, "Latent size.", minimum=1)
