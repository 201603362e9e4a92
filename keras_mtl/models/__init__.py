"""Multi-task models and their preprocessor."""

from keras_mtl.models.multi_task_model import MultiTaskModel
from keras_mtl.models.multi_task_preprocessor import MultiTaskPreprocessor
from keras_mtl.models.task_weights import TaskWeights



def load_model(path, compile=True):
    """Loads a `.keras` file saved from a `MultiTaskModel`, on any backend."""
    import keras

    return keras.saving.load_model(path, compile=compile)


__all__ = ["MultiTaskModel", "MultiTaskPreprocessor", "TaskWeights", "load_model"]
