"""Task template: the smallest complete task; copy this folder to start a new one (docs/architecture.md)."""

from ganforge.tasks.spec import TaskSpec, register_spec
from ganforge.tasks.template.config import TemplateOptions

SPEC = register_spec(TaskSpec(
    name="template",
    summary="The smallest complete task, to copy: a linear generator and discriminator.",
    task="ganforge.tasks.template.task",
    options=TemplateOptions,
    pipelines=("ganforge.tasks.image.pipeline",),
    evaluators=("ganforge.tasks.image.evaluate",),
    hidden=True,
))
