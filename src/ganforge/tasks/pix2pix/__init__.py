"""Task pix2pix: paired image-to-image translation: unet (pix2pix), spade."""

from ganforge.tasks.pix2pix.config import Pix2PixOptions
from ganforge.tasks.spec import TaskSpec, register_spec

SPEC = register_spec(TaskSpec(
    name="pix2pix",
    summary="Paired image-to-image translation: unet (pix2pix), spade.",
    task="ganforge.tasks.pix2pix.task",
    options=Pix2PixOptions,
    pipelines=("ganforge.tasks.translation.pipeline",),
    evaluators=("ganforge.tasks.translation.evaluate",),
    commands=("ganforge.tasks.translation.cli",),
))
