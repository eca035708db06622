"""Tasks, one folder each (tasks/<task>/); importing this package finds them all and registers their Tasks."""

from ganforge import losses, nets  # noqa: F401
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.spec import TaskSpec, discover, import_guarded, task_spec, task_specs

discover()
for _spec in task_specs():
    import_guarded(_spec, _spec.task)

__all__ = ["DataInfo", "Task", "TaskSpec", "TrainData", "task_spec", "task_specs"]
