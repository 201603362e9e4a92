"""keras_mtl: multi-task NLU on Keras 3 and KerasHub BERT.

Public names are re-exported lazily, so that `keras-mtl --backend jax` can choose
the Keras backend before Keras is imported.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "TaskSpec": "keras_mtl.tasks",
    "MultiTaskModel": "keras_mtl.models",
    "MultiTaskPreprocessor": "keras_mtl.models",
    "TaskWeights": "keras_mtl.models",
    "load_model": "keras_mtl.models",
    "LabeledTexts": "keras_mtl.datasets",
    "make_dataset": "keras_mtl.data",
    "TaskMixture": "keras_mtl.data",
    "evaluate_predictions": "keras_mtl.metrics",
    "AdaptiveTaskWeighting": "keras_mtl.callbacks",
    "TaskGradientDiagnostics": "keras_mtl.callbacks",
    "entity_scores": "keras_mtl.metrics",
}
_SUBMODULES = (
    "tasks", "heads", "models", "preprocessing", "datasets", "data", "metrics",
    "weighting", "callbacks", "distribution", "optimizers",
)

__all__ = sorted(_EXPORTS) + list(_SUBMODULES)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"keras_mtl.{name}")
    raise AttributeError(f"module 'keras_mtl' has no attribute {name!r}")


def __dir__():
    return __all__
