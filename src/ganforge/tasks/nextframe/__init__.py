"""Task nextframe: video prediction: the next frames of a clip (SimVP-style, Mathieu et al.)."""

from ganforge.tasks.nextframe.config import NextframeOptions
from ganforge.tasks.spec import TaskSpec, register_spec

SPEC = register_spec(TaskSpec(
    name="nextframe",
    summary="Video prediction: the next frames of a clip (SimVP-style, Mathieu et al.).",
    task="ganforge.tasks.nextframe.task",
    options=NextframeOptions,
    pipelines=("ganforge.tasks.nextframe.pipeline",),
    evaluators=("ganforge.tasks.nextframe.evaluate",),
    commands=("ganforge.tasks.nextframe.cli",),
))
