"""The video task's options: clips from noise (VGAN)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ganforge.nets.layers import UPSAMPLE_MODES
from ganforge.options import option
from ganforge.tasks.options import GANOptions

LOSSES = ("ns", "hinge", "lsgan", "rpgan", "ragan")  # wgan-gp's penalty is written for images


@dataclass
class VideoOptions(GANOptions):
    # VGAN (Vondrick et al.): two-stream generator, 3D-conv D, vanilla GAN, Adam 2e-4 (0.5, 0.999), z 100, mask L1 0.1.
    # Width 32 is half of VGAN's (64 channels in the last hidden layer, 512 at the first): see docs/architecture.md.
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "vgan": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, z_dim=100, width=32, mask_weight=0.1,
                     upsample="transpose"),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=10.0, clip_frames=16, batch=64)
    DATA_HELP: ClassVar[str] = ("moving-emoji[-twitter], moving-mnist or a folder/zip of videos (GIF; "
                                 "MP4/WebM with the video extra).")
    # The moving emoji are made for 64 px frames (32 px emoji, half the frame at 32 px and less).
    NEW_RUN_DEFAULTS: ClassVar[dict[str, Any]] = dict(data="moving-emoji", resolution=64)

    loss: str | None = option(None, "Adversarial loss: ns | hinge | lsgan | rpgan | ragan (wgan-gp's penalty is "
                              "written for images).", choices=LOSSES, default_help="ns")
    z_dim: int | None = option(None, "Latent size.", minimum=1)
    clip_frames: int | None = option(None, "Frames per clip (one frame has no motion).", minimum=2,
                                     old_flag="--frames")
    mask_weight: float | None = option(None, "Weight of VGAN's L1 sparsity penalty on the foreground mask.",
                                       minimum=0)
    upsample: str | None = option(None, "The generator's x2 steps: transpose (transposed convolutions, the paper) or "
                                  "resize (nearest-neighbour resize then a 3x3 convolution).", choices=UPSAMPLE_MODES)
