"""The next-frame task's options: video prediction, conditioned on the observed frames of a clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.options import GANOptions

if TYPE_CHECKING:
    from ganforge.config import TrainConfig

LOSSES = ("mse", "adv")  # the L2 baseline, or L2 + GDL + adversarial (Mathieu et al.)


@dataclass
class NextframeOptions(GANOptions):
    # A SimVP-style predictor (Adam 1e-3, SimVP's rate), trained on L2 (--loss mse) or, as Mathieu et al., L2 + GDL
    # (1) + 0.05 x adversarial from a 3D-conv clip discriminator (adv).
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "simvp": dict(loss="adv", lr_g=1e-3, lr_d=2e-4, beta1=0.9, beta2=0.999, width=32, n_blocks=4,
                      adv_weight=0.05, gdl_weight=1.0),
    }
    # Srivastava et al.'s Moving MNIST protocol: 20-frame clips, 10 observed and 10 to predict.
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, clip_frames=20, context_frames=10,
                                              batch=64)
    DATA_HELP: ClassVar[str] = ("moving-mnist, moving-emoji[-twitter] or a folder/zip of videos (GIF; "
                                 "MP4/WebM with the video extra).")
    # Moving MNIST is made for 64 px frames (28 px digits).
    NEW_RUN_DEFAULTS: ClassVar[dict[str, Any]] = dict(data="moving-mnist", resolution=64)

    loss: str | None = option(None, "mse (L2 alone) | adv (L2 + gradient difference + clip discriminator).",
                              default_help="adv")
    clip_frames: int | None = option(None, "Frames per training clip, observed + predicted.", old_flag="--frames")
    context_frames: int | None = option(None, "Observed frames the prediction is conditioned on; the rest of each "
                                        "clip is predicted.")
    n_blocks: int | None = option(None, "Blocks of the predictor's translator.", minimum=0)
    adv_weight: float | None = option(None, "--loss adv: weight of the clip discriminator's loss against L2's 1.",
                                      minimum=0)
    gdl_weight: float | None = option(None, "--loss adv: weight of the image gradient difference loss.", minimum=0)
    pretrain_kimg: float | None = option(None, "--loss adv: kimg of L2-only pre-training before the adversarial "
                                         "phase.", minimum=0, default_help="0, as Mathieu et al.")

    def check_given(self, run: TrainConfig) -> None:
        if self.loss not in (None, *LOSSES):
            raise ConfigError(f"nextframe takes --loss mse (the L2 baseline) or adv (L2 + gradient difference + "
                              f"adversarial), got {self.loss!r}")
        if self.loss == "mse":
            for name in ("adv_weight", "gdl_weight", "pretrain_kimg"):
                if getattr(self, name):
                    raise ConfigError(f"--{name.replace('_', '-')} applies to --loss adv; --loss mse trains on L2 alone")
        frames = self.clip_frames if self.clip_frames is not None else self.DEFAULTS["clip_frames"]
        context = self.context_frames if self.context_frames is not None else self.DEFAULTS["context_frames"]
        if context < 1 or frames <= context:
            raise ConfigError(f"--clip-frames {frames} must exceed --context-frames {context} (>= 1): each training "
                              "clip holds the observed frames followed by the frames to predict")
        if run.resolution % 4 or run.resolution < 8:
            raise ConfigError(f"nextframe needs --resolution a multiple of 4 and at least 8 (the predictor halves "
                              f"frames twice), got {run.resolution}")

    def resolve(self, run: TrainConfig) -> None:
        if self.loss == "mse":
            self.adv_weight = self.gdl_weight = 0.0  # the L2 baseline: config.json says so
        if self.pretrain_kimg is None:
            self.pretrain_kimg = 0.0  # Mathieu et al. train the full objective from the first step
