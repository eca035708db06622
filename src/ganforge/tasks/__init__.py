"""Tasks, one folder each (tasks/<task>/); importing this package finds them all and registers their Tasks."""

import importlib

from ganforge import losses, nets  # noqa: F401
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.spec import TaskSpec, discover, task_spec, task_specs

discover()
for _spec in task_specs():
    importlib.import_module(_spec.task)

__all__ = ["DataInfo", "Task", "TaskSpec", "TrainData", "task_spec", "task_specs"]
