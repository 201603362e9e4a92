"""Deployment artefacts: TensorFlow SavedModel (TF Serving) and ONNX (edge)."""

from keras_mtl.export.onnx import export_onnx
from keras_mtl.export.saved_model import export_saved_model

__all__ = ["export_onnx", "export_saved_model"]
