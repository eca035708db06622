"""Task pix2pix: paired image-to-image translation: unet (pix2pix), spade."""

from ganforge.tasks.pix2pix.config import Pix2PixOptions
from ganforge.tasks.spec import folder_spec, register_spec

SPEC = register_spec(folder_spec(__name__, "Paired image-to-image translation: unet (pix2pix), spade.", Pix2PixOptions,
                                 parts_from="ganforge.tasks.translation"))  # translate, shared with the other
