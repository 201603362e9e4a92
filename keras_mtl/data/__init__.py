"""Turning labelled texts into `tf.data` pipelines that feed every backend."""

from keras_mtl.data.pipeline import encode_examples, encode_labels, make_dataset

__all__ = ["encode_examples", "encode_labels", "make_dataset"]
