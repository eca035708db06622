"""Options paired (pix2pix) and unpaired (cyclegan) translation share."""

from __future__ import annotations

from dataclasses import dataclass

from ganforge.nets.layers import UPSAMPLE_MODES
from ganforge.options import option
from ganforge.tasks.options import PatchGANOptions

DIRECTIONS = ("AtoB", "BtoA")


@dataclass
class TranslationOptions(PatchGANOptions):
    direction: str = option("AtoB", "AtoB translates --data's A side into B (emoji: google -> twitter); BtoA the "
                            "reverse.", choices=DIRECTIONS)
    residual: bool | None = option(None, "The generator predicts a change to its input (output = input + last layer, "
                                   "zero at the start), so an untrained model is the identity and unchanged detail "
                                   "passes at full resolution; needs input and output of the same channels (not "
                                   "edges: or gray:). Off in the papers.")
    upsample: str | None = option(None, "The generator's x2 steps: transpose (transposed convolutions, the papers) or "
                                  "resize (nearest-neighbour resize then a 3x3 convolution, Odena et al., against "
                                  "checkerboard artefacts).", choices=UPSAMPLE_MODES)
