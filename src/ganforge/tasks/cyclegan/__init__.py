"""Task cyclegan: unpaired image-to-image translation (CycleGAN)."""

from ganforge.tasks.cyclegan.config import CycleGANOptions
from ganforge.tasks.spec import TaskSpec, register_spec

SPEC = register_spec(TaskSpec(
    name="cyclegan",
    summary="Unpaired image-to-image translation (CycleGAN).",
    task="ganforge.tasks.cyclegan.task",
    options=CycleGANOptions,
    pipelines=("ganforge.tasks.translation.pipeline",),
    evaluators=("ganforge.tasks.translation.evaluate",),
    commands=("ganforge.tasks.translation.cli",),
))
