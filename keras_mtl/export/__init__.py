"""Deployment artefacts: TensorFlow SavedModel (TF Serving)."""

from keras_mtl.export.saved_model import export_saved_model

__all__ = ["export_saved_model"]
