"""Task declarations: `TaskSpec` and the registry of task types."""

from keras_mtl.tasks.task_spec import TaskSpec, check_task_list
from keras_mtl.tasks.task_types import MISSING_ID, TASK_TYPES, TaskType, get_task_type

__all__ = ["MISSING_ID", "TASK_TYPES", "TaskSpec", "TaskType", "check_task_list", "get_task_type"]
