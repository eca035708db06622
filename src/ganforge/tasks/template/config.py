"""The template task's options: the fields it reads beyond what every run has (config.TrainConfig).

To change in a copy: the class name (and the import in __init__.py), MODELS (each model the task takes, with the
defaults it gives the fields left None), DEFAULTS, and one `option()` field per setting of your own. The base class
brings shared options: GANOptions (tasks/options.py: --loss, --lr-g, --lr-d, --beta1, --beta2, --width) for a G and a
D trained by Adam, PatchGANOptions for a PatchGAN D, or plain TaskOptions (options.py) for anything else. Checks
beyond a field's range go in the hooks `check_given`, `resolve` and `check`; NEW_RUN_DEFAULTS and DATA_HELP change
the run's own defaults and `--data`'s help for this task (see TaskOptions).
"""

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
