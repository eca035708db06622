"""Task video: video clips from noise (VGAN)."""

from ganforge.tasks.spec import folder_spec, register_spec
from ganforge.tasks.video.config import VideoOptions

SPEC = register_spec(folder_spec(__name__, "Video clips from noise (VGAN).", VideoOptions))
