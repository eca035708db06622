"""Task image: generation from noise, unconditional or class-conditional: dcgan, stylegan2, r3gan."""

from ganforge.tasks.image.config import ImageOptions
from ganforge.tasks.spec import TaskSpec, register_spec

SPEC = register_spec(TaskSpec(
    name="image",
    summary="Generation from noise, unconditional or class-conditional: dcgan, stylegan2, r3gan.",
    task="ganforge.tasks.image.task",
    options=ImageOptions,
    pipelines=("ganforge.tasks.image.pipeline",),
    evaluators=("ganforge.tasks.image.evaluate",),
    commands=("ganforge.tasks.image.cli",),
))
