"""The encoder task: `ganforge train encoder --generator RUN --data DATA`, an encoder into a trained StyleGAN2's W+
(e4e/pSp-style) for fast inversion (`ganforge invert RUN IMAGE --method encoder --encoder ENCODER_RUN`)."""

from ganforge.tasks.encoder.config import EncoderOptions
from ganforge.tasks.spec import folder_spec, register_spec

SPEC = register_spec(folder_spec(
    __name__, "An encoder into a trained StyleGAN2's W+ (e4e/pSp-style), for fast inversion and editing.",
    EncoderOptions,
))
