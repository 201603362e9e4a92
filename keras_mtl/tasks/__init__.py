"""Task declarations: `TaskSpec`, the `TaskType` interface and its registry.

Built-in types: `classification`, `token_classification`, `tagging`,
`multi_label`, `regression`, `dependency_parsing`. Add your own with
`register_task_type` (see docs/tasks.md).

`TaskSpec` (which needs Keras) is imported lazily, so the numpy half of the task
types (decoding, evaluation) loads without Keras, for the edge runtime.
"""

import importlib

from keras_mtl.tasks.classification import ClassificationType
from keras_mtl.tasks.dependency_parsing import DependencyParsingType
from keras_mtl.tasks.multi_label import MultiLabelType
from keras_mtl.tasks.registry import TASK_TYPES, get_task_type, register_task_type
from keras_mtl.tasks.regression import RegressionType
from keras_mtl.tasks.tagging import TaggingType
from keras_mtl.tasks.task_type import MISSING_ID, TaskType
from keras_mtl.tasks.token_classification import TokenClassificationType

for _type in (
    ClassificationType, TokenClassificationType, TaggingType, MultiLabelType,
    RegressionType, DependencyParsingType,
):
    register_task_type(_type())

_LAZY = {"TaskSpec": "keras_mtl.tasks.task_spec", "check_task_list": "keras_mtl.tasks.task_spec"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_mtl.tasks' has no attribute {name!r}")


__all__ = [
    "ClassificationType", "DependencyParsingType", "MISSING_ID", "MultiLabelType",
    "RegressionType", "TASK_TYPES", "TaggingType", "TaskSpec", "TaskType",
    "TokenClassificationType", "check_task_list", "get_task_type", "register_task_type",
]
