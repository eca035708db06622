"""Task image: generation from noise, unconditional or class-conditional: dcgan, stylegan2, r3gan."""

from ganforge.tasks.image.config import ImageOptions
from ganforge.tasks.spec import folder_spec, register_spec

SPEC = register_spec(folder_spec(
    __name__, "Generation from noise, unconditional or class-conditional: dcgan, stylegan2, r3gan.", ImageOptions))
