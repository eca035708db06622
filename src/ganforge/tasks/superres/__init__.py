"""Task superres: super-resolution x2/x4: srresnet (SRGAN), rrdb (ESRGAN)."""

from ganforge.tasks.spec import folder_spec, register_spec
from ganforge.tasks.superres.config import SuperresOptions

SPEC = register_spec(folder_spec(__name__, "Super-resolution x2/x4: srresnet (SRGAN), rrdb (ESRGAN).", SuperresOptions))
