"""Deployment artefacts: TensorFlow SavedModel (TF Serving), ONNX and edge bundles."""

from keras_mtl.export.edge_bundle import export_edge_bundle
from keras_mtl.export.onnx import export_onnx
from keras_mtl.export.saved_model import export_saved_model

__all__ = ["export_edge_bundle", "export_onnx", "export_saved_model"]
