"""Task video: video clips from noise (VGAN)."""

from ganforge.tasks.spec import TaskSpec, register_spec
from ganforge.tasks.video.config import VideoOptions

SPEC = register_spec(TaskSpec(
    name="video",
    summary="Video clips from noise (VGAN).",
    task="ganforge.tasks.video.task",
    options=VideoOptions,
    pipelines=("ganforge.tasks.video.pipeline",),
    evaluators=("ganforge.tasks.video.evaluate",),
    commands=("ganforge.tasks.video.cli",),
))
