"""Task superres: super-resolution x2/x4: srresnet (SRGAN), rrdb (ESRGAN)."""

from ganforge.tasks.spec import TaskSpec, register_spec
from ganforge.tasks.superres.config import SuperresOptions

SPEC = register_spec(TaskSpec(
    name="superres",
    summary="Super-resolution x2/x4: srresnet (SRGAN), rrdb (ESRGAN).",
    task="ganforge.tasks.superres.task",
    options=SuperresOptions,
    pipelines=("ganforge.tasks.superres.pipeline",),
    evaluators=("ganforge.tasks.superres.evaluate",),
    commands=("ganforge.tasks.superres.cli",),
))
