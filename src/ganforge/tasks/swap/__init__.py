"""The identity-swap task: `ganforge train swap --model autoencoder --pair A,B` (faceswap's shared encoder and one
decoder per face) or `--model simswap` (one generator for any face, told it by an identity encoder), and
`ganforge swap RUN CLIP --identity B`, which marks every frame it writes as a swap."""

from ganforge.tasks.spec import folder_spec, register_spec
from ganforge.tasks.swap.config import SwapOptions

SPEC = register_spec(folder_spec(
    __name__, "Put one face in place of another in video, marked as a swap: faceswap's autoencoder or a "
    "SimSwap-style generator.", SwapOptions,
))
