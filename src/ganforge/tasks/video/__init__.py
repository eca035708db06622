"""Task video: video clips from noise (VGAN)."""

from ganforge.tasks.spec import TaskSpec, register_spec

SPEC = register_spec(TaskSpec(
    name="video",
    summary="Video clips from noise (VGAN).",
    task="ganforge.tasks.video.task",
    pipelines=("ganforge.tasks.video.pipeline",),
    evaluators=("ganforge.tasks.video.evaluate",),
    commands=("ganforge.tasks.video.cli",),
))
