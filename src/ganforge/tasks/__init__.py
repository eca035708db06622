"""Tasks; importing this package registers every built-in task, model and loss."""

from ganforge import losses, nets  # noqa: F401
from ganforge.tasks import cyclegan, image, inpaint, nextframe, pix2pix, superres, template, video  # noqa: F401
from ganforge.tasks.base import DataInfo, Task, TrainData

__all__ = ["DataInfo", "Task", "TrainData"]
