"""Task inpaint: fill holes and outpaint (LaMa-style FFC generator)."""

from ganforge.tasks.inpaint.config import InpaintOptions
from ganforge.tasks.spec import TaskSpec, register_spec

SPEC = register_spec(TaskSpec(
    name="inpaint",
    summary="Fill holes and outpaint (LaMa-style FFC generator).",
    task="ganforge.tasks.inpaint.task",
    options=InpaintOptions,
    pipelines=("ganforge.tasks.inpaint.pipeline",),
    evaluators=("ganforge.tasks.inpaint.evaluate",),
    commands=("ganforge.tasks.inpaint.cli",),
))
