"""Task inpaint: fill holes and outpaint (LaMa-style FFC generator)."""

from ganforge.tasks.inpaint.config import InpaintOptions
from ganforge.tasks.spec import folder_spec, register_spec

SPEC = register_spec(folder_spec(__name__, "Fill holes and outpaint (LaMa-style FFC generator).", InpaintOptions))
