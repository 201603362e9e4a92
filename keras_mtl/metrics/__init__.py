"""Task metrics: conlleval entity F1 and per-task evaluation of decoded predictions."""

from keras_mtl.metrics.entity_f1 import entity_scores, get_entities
from keras_mtl.metrics.evaluation import evaluate_predictions

__all__ = ["entity_scores", "evaluate_predictions", "get_entities"]
