"""Optimizers whose update is one fused program per variable on TensorFlow.

`Adam` and `AdamW` are Keras' own (same arguments, same math, same config); on the
TensorFlow backend each variable's whole update (weight decay, both moments, the
step) runs as one XLA-compiled program instead of about a dozen separate
element-wise TensorFlow ops, each reading and writing the variable's full size.
JAX already compiles the whole training step and Keras' PyTorch optimizers already
use multi-tensor kernels, so on those backends the constructors return Keras' own
optimizers.
"""

from keras_mtl.optimizers.adam import Adam
from keras_mtl.optimizers.adamw import AdamW

__all__ = ["Adam", "AdamW"]
