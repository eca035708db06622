"""Task cyclegan: unpaired image-to-image translation (CycleGAN)."""

from ganforge.tasks.cyclegan.config import CycleGANOptions
from ganforge.tasks.spec import folder_spec, register_spec

SPEC = register_spec(folder_spec(__name__, "Unpaired image-to-image translation (CycleGAN).", CycleGANOptions,
                                 parts_from="ganforge.tasks.translation"))  # translate, shared with the other
