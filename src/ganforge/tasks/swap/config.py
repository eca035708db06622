"""The swap task's options: faceswap's autoencoder and a SimSwap-style generator over aligned face crops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.options import PatchGANOptions

if TYPE_CHECKING:
    from ganforge.config import TrainConfig


@dataclass
class SwapOptions(PatchGANOptions):
    # autoencoder: faceswap's (Adam 5e-5 there at 64 px with a 1024-wide code; here a narrower net at 5e-4) plus an
    # LSGAN term on its swaps at 0.1, as faceswap's GAN trainer weighs it, and L1 to the exact swap where the data
    # draw one (faceclips; at 0, B's decoder never sees A's code in training and drew holes into its blend mask where
    # A's eyes and mouth were: 21.7 dB over the face at 130 kimg, docs/benchmarks.md). simswap: SimSwap's code (hinge, 4e-4,
    # betas (0, 0.99), identity 10, reconstruction 10), with the exact swap's L1 where the data draw one
    # (`truth_weight`, 100 as pix2pix's L1; emoji clips do, photographs do not). Probes at 6 kimg (docs/benchmarks.md):
    # SimSwap's weak feature matching at 10 held the swap to the input's face (truth L1 0.53 at 20 kimg), so 1; the
    # identity read at every decoder level (FaceShifter) as well as at the bottleneck: truth L1 0.39 against 0.41.
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "autoencoder": dict(loss="lsgan", lr_g=5e-4, lr_d=5e-4, beta1=0.5, beta2=0.999, width=16, d_layers=3,
                            adv_weight=0.1, id_weight=0.0, rec_weight=10.0, fm_weight=0.0, truth_weight=100.0),
        "simswap": dict(loss="hinge", lr_g=4e-4, lr_d=4e-4, beta1=0.0, beta2=0.99, width=16, d_layers=3,
                        adv_weight=1.0, id_weight=10.0, rec_weight=10.0, fm_weight=1.0, truth_weight=100.0,
                        decoder_injection=True),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=0.0, batch=32)
    NEW_RUN_DEFAULTS: ClassVar[dict[str, Any]] = dict(data="faceclips", resolution=64)
    DATA_HELP: ClassVar[str] = ("faceclips (the emoji faces drawn at random poses, over random backgrounds, behind "
                                "hands, aligned to crops, with their exact swaps), or for the autoencoder a folder "
                                "with A/ and B/ of aligned face crops, as faceswap takes them.")

    pair: str | None = option(None, "autoencoder: the two faces it swaps between, by index or emoji name, comma "
                              "separated (faceclips), e.g. '3,40' or 'grinning face,cat face'.")
    samples: int = option(20000, "faceclips: training crops drawn (seeded; all of them are in memory).", minimum=16)
    occluded: float = option(0.5, "faceclips: share of crops with a hand in front of the face.", minimum=0,
                             maximum=1)
    style: str = option("google", "faceclips: emoji style the faces are drawn in.", choices=("google", "twitter"))
    code: int = option(128, "autoencoder: width of the shared dense code.", minimum=1)
    blocks: int = option(4, "simswap: identity-injection blocks.", minimum=1)
    decoder_injection: bool | None = option(None, "simswap: also read every decoder level's norm from the identity "
                                            "(FaceShifter's injection at every level), not only the bottleneck "
                                            "blocks'.", default_help="the model's")
    adv_weight: float | None = option(None, "Weight of the adversarial term on the swaps.", minimum=0,
                                      default_help="the model's")
    rec_weight: float | None = option(None, "Weight of reconstruction: a face redrawn as itself (L1 on the face, "
                                      "and on its blend mask).", minimum=0, default_help="the model's")
    id_weight: float | None = option(None, "simswap: weight of the identity loss, 1 - cosine between the swap's "
                                     "embedding and the target's.", minimum=0, default_help="the model's")
    fm_weight: float | None = option(None, "simswap: weight of weak feature matching (D's last features of the swap "
                                     "against the input's).", minimum=0, default_help="the model's")
    truth_weight: float | None = option(None, "Weight of L1 to the exact swap, where the data draw it (faceclips; "
                                        "0 = faceswap's or SimSwap's losses alone).", minimum=0,
                                        default_help="the model's")

    def check(self, run: TrainConfig) -> None:
        super().check(run)
        if run.resolution % 8 or run.resolution < 32:
            raise ConfigError(f"swap models take crops of a multiple of 8 px, at least 32, got --resolution "
                              f"{run.resolution}")
        if run.model == "simswap" and self.pair is not None:
            raise ConfigError("--pair names the autoencoder's two faces; simswap swaps to any face: drop --pair")
