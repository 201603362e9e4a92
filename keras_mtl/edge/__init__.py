"""Edge runtime: raw text → task predictions with numpy and onnxruntime only.

Nothing here imports TensorFlow or Keras.
"""

from keras_mtl.edge.runtime import EdgeModel, length_groups
from keras_mtl.edge.wordpiece import FastWordPieceTokenizer, WordPieceTokenizer, make_tokenizer

__all__ = ["EdgeModel", "FastWordPieceTokenizer", "WordPieceTokenizer", "length_groups", "make_tokenizer"]
