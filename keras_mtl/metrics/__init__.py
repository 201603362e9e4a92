"""Task metrics: conlleval entity F1, per-task evaluation of decoded predictions,
and Δm (multi-task vs single-task)."""

from keras_mtl.metrics.delta_m import delta_m, primary_metric
from keras_mtl.metrics.entity_f1 import entity_scores, get_entities
from keras_mtl.metrics.evaluation import evaluate_predictions

__all__ = [
    "delta_m", "entity_scores", "evaluate_predictions", "get_entities",
    "primary_metric",
]
