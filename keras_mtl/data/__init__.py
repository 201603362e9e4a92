"""Turning labelled texts into `tf.data` pipelines that feed every backend:
one dataset (`make_dataset`) or several task datasets mixed (`TaskMixture`)."""

from keras_mtl.data.pipeline import encode_examples, encode_labels, make_dataset
from keras_mtl.data.samplers import SAMPLERS, TaskSampler, get_sampler
from keras_mtl.data.task_mixture import MixtureEpoch, TaskMixture, allot

__all__ = [
    "SAMPLERS", "MixtureEpoch", "TaskMixture", "TaskSampler", "allot", "encode_examples",
    "encode_labels", "get_sampler", "make_dataset",
]
