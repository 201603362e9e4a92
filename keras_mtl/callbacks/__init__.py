"""Keras callbacks: adaptive task weighting, task-gradient diagnostics, dev-split
evaluation on decoded predictions, best-epoch restore, a kill-safe epoch backup,
layer-attention logs, task affinity, epoch progress and epoch times."""

from keras_mtl.callbacks.adaptive_task_weighting import AdaptiveTaskWeighting
from keras_mtl.callbacks.dev_evaluation import DevEvaluation
from keras_mtl.callbacks.epoch_backup import EpochBackup
from keras_mtl.callbacks.epoch_progress import EpochProgress
from keras_mtl.callbacks.epoch_timer import EpochTimer
from keras_mtl.callbacks.history_log import HistoryLog
from keras_mtl.callbacks.layer_attention_log import LayerAttentionLog
from keras_mtl.callbacks.restore_best import RestoreBest
from keras_mtl.callbacks.task_affinity import TaskAffinity
from keras_mtl.callbacks.task_gradient_diagnostics import TaskGradientDiagnostics

__all__ = [
    "AdaptiveTaskWeighting", "DevEvaluation", "EpochBackup", "EpochProgress", "EpochTimer",
    "HistoryLog", "LayerAttentionLog", "RestoreBest", "TaskAffinity",
    "TaskGradientDiagnostics",
]
