"""Keras callbacks: adaptive task weighting and task-gradient diagnostics."""

from keras_mtl.callbacks.adaptive_task_weighting import AdaptiveTaskWeighting
from keras_mtl.callbacks.task_gradient_diagnostics import TaskGradientDiagnostics

__all__ = ["AdaptiveTaskWeighting", "TaskGradientDiagnostics"]
