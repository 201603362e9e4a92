"""Text preprocessing: word splitting, WordPiece tokenization, label alignment.

`BertWordPieceTokenizer` is imported lazily, so that importing the pure-Python
`keras_mtl.preprocessing.words` (as the numpy-only edge runtime does) does not
import TensorFlow or Keras.
"""

import importlib

_EXPORTS = {
    "BertWordPieceTokenizer": "keras_mtl.preprocessing.bert_tokenizer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_mtl.preprocessing' has no attribute {name!r}")


def __dir__():
    return __all__
