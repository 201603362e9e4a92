"""Optimizers whose update is fused on TensorFlow and PyTorch.

`Adam` and `AdamW` are Keras' own (same arguments, same math, same config). On the
TensorFlow backend each variable's whole update (weight decay, both moments, the
step) runs as one XLA-compiled program instead of about a dozen separate
element-wise TensorFlow ops, each reading and writing the variable's full size. On
PyTorch, all variables are updated by PyTorch's fused AdamW kernel (the one
`torch.optim.AdamW(fused=True)` runs) instead of Keras' chain of multi-tensor ops.
JAX already compiles the whole training step, so there the constructors return
Keras' own optimizers.
"""

from keras_mtl.optimizers.adam import Adam
from keras_mtl.optimizers.adamw import AdamW

__all__ = ["Adam", "AdamW"]
