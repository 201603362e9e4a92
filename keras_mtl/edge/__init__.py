"""Edge runtime: raw text → task predictions with numpy and onnxruntime only.

Nothing here imports TensorFlow or Keras.
"""

from keras_mtl.edge.runtime import EdgeModel
from keras_mtl.edge.wordpiece import WordPieceTokenizer

__all__ = ["EdgeModel", "WordPieceTokenizer"]
