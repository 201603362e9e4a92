"""Multi-task models and their preprocessor."""

from keras_mtl.models.multi_task_model import MultiTaskModel
from keras_mtl.models.multi_task_preprocessor import MultiTaskPreprocessor
from keras_mtl.models.task_weights import TaskWeights

__all__ = ["MultiTaskModel", "MultiTaskPreprocessor", "TaskWeights"]
