"""Real datasets, loaded from the Python packages that ship them."""

from keras_mtl.datasets.atis import load_atis
from keras_mtl.datasets.labeled_texts import LabeledTexts

__all__ = ["LabeledTexts", "load_atis"]
