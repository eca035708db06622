"""CycleGAN's options: unpaired translation (Zhu et al.)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.options import option
from ganforge.tasks.translation.config import TranslationOptions

if TYPE_CHECKING:
    from ganforge.config import TrainConfig


@dataclass
class CycleGANOptions(TranslationOptions):
    # CycleGAN (Zhu et al.): LSGAN, cycle 10, identity 0.5 (x cycle), pool of 50 batches (the paper's 50 images at
    # batch 1), Adam 2e-4 (0.5, 0.999), decay over half.
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "resnet": dict(loss="lsgan", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, width=64, cycle_weight=10.0,
                       identity_weight=0.5, pool_size=50, d_layers=3, lr_decay_start=0.5, residual=False,
                       upsample="transpose"),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=0.5, ema_kimg=10.0, batch=64)
    DATA_HELP: ClassVar[str] = ("emoji (disjoint halves of google and twitter) or a folder with A/ and B/ "
                                 "(see --data-b).")

    data_b: str | None = option(None, "The second domain's images when --data names only the first (folder, zip, "
                                "built-in).")
    cycle_weight: float | None = option(None, "Cycle-consistency weight per direction.", minimum=0)
    identity_weight: float | None = option(None, "Identity loss weight, times --cycle-weight (0 = off).", minimum=0)
    pool_size: int | None = option(None, "Batches of generated images kept in each history pool for D, i.e. steps "
                                   "of history (0 = off; the paper's 50 images at batch 1).", minimum=0)
    n_blocks: int | None = option(None, "Residual blocks per generator.", minimum=0,
                                  default_help="9 at >= 256 px, else 6")

    def resolve(self, run: TrainConfig) -> None:
        if self.n_blocks is None:
            self.n_blocks = 9 if run.resolution >= 256 else 6  # the CycleGAN paper: 6 at 128 px, 9 at 256
