"""Keras callbacks: adaptive task weighting (thin adaptor over `keras_mtl.weighting`)."""

from keras_mtl.callbacks.adaptive_task_weighting import AdaptiveTaskWeighting

__all__ = ["AdaptiveTaskWeighting"]
