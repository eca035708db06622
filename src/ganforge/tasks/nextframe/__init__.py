"""Task nextframe: video prediction: the next frames of a clip (SimVP-style, Mathieu et al.)."""

from ganforge.tasks.nextframe.config import NextframeOptions
from ganforge.tasks.spec import folder_spec, register_spec

SPEC = register_spec(folder_spec(
    __name__, "Video prediction: the next frames of a clip (SimVP-style, Mathieu et al.).", NextframeOptions))
