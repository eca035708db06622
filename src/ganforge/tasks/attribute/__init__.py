"""The attribute-editing task: `ganforge train attribute --data emoji --attribute skin-tone`, a conditional
encoder-decoder GAN that takes an image and a target attribute and keeps the rest (CAAE's route, trained with the
exact counterfactual where the data hold one, StarGAN's cycle where not)."""

from ganforge.tasks.attribute.config import AttributeOptions
from ganforge.tasks.spec import folder_spec, register_spec

SPEC = register_spec(folder_spec(
    __name__, "Change one attribute of an image, keep the rest: a conditional U-Net GAN (emoji skin tone, digit "
    "class).", AttributeOptions,
))
