"""The fused Adam/AdamW update shared by `keras_mtl.optimizers.Adam` and `AdamW`.

Keras' TensorFlow optimizers write Adam as a chain of element-wise ops (cast,
subtract, multiply, assign-add, square, sqrt, divide, assign-sub), plus one more
pass for AdamW's weight decay: each op streams the variable's full size through
memory. On a CPU, for a 22.7 M-parameter BERT, that chain was a third of a training
step. Compiled with XLA, one variable's new value and moments come out of a single
loop over its elements. The arithmetic is Keras' `Adam.update_step` and
`_apply_weight_decay`, in the same order.

Keras' PyTorch optimizers chain about a dozen `torch._foreach_*` passes, several of
which allocate a new tensor per variable; for the same BERT that took 180-220 ms a
step on 2 CPU cores, about half of a training step. PyTorch's own fused AdamW kernel
(`torch._fused_adamw_`, what `torch.optim.AdamW(fused=True)` runs) does the decay,
both moments and the step in one pass over all variables: about 9 ms. Keras and
PyTorch place epsilon differently (Keras adds it to the raw second moment's root,
PyTorch to the bias-corrected one), so the kernel gets epsilon / sqrt(1 - beta_2^t),
which makes the two updates the same.
"""

import functools
import math

import keras


@functools.cache
def _update_program():
    """The XLA-compiled update (built on first use, so importing needs no TF)."""
    import tensorflow as tf

    @tf.function(jit_compile=True, autograph=False)
    def update(variable, momentum, velocity, gradient, learning_rate, local_step,
               weight_decay, beta_1, beta_2, epsilon):
        dtype = gradient.dtype

        def read(handle):
            return tf.raw_ops.ReadVariableOp(resource=handle, dtype=dtype)

        # AdamW's decoupled decay first (Keras applies it before the update).
        value = read(variable)
        value = value - value * weight_decay * learning_rate
        m = read(momentum)
        m = m + (gradient - m) * (1 - beta_1)
        v = read(velocity)
        v = v + (tf.square(gradient) - v) * (1 - beta_2)
        alpha = (learning_rate * tf.sqrt(1 - tf.pow(beta_2, local_step))
                 / (1 - tf.pow(beta_1, local_step)))
        value = value - m * alpha / (tf.sqrt(v) + epsilon)
        for handle, new in ((momentum, m), (velocity, v), (variable, value)):
            tf.raw_ops.AssignVariableOp(resource=handle, value=new)

    return update


def fused_adam(variable, momentum, velocity, gradient, learning_rate, local_step,
               weight_decay, beta_1, beta_2, epsilon):
    """One AdamW step, in place, on three float variables given by their resource
    handles (one XLA program; handles, not variables, so that the traced function
    holds none of them)."""
    _update_program()(variable, momentum, velocity, gradient, learning_rate, local_step,
                      weight_decay, beta_1, beta_2, epsilon)


class FusedAdamUpdate:
    """Mixin for Keras' `Adam` and `AdamW`: on TensorFlow, decay and update each
    variable in one XLA program (`amsgrad=True` keeps Keras' own update there); on
    PyTorch, decay and update all variables with PyTorch's fused AdamW kernel. On
    JAX, which compiles the whole training step, the constructor returns Keras' own
    optimizer (`keras_class`)."""

    keras_class = None

    def __new__(cls, *args, **kwargs):
        if keras.config.backend() not in ("tensorflow", "torch"):
            # Not an instance of `cls`, so Python does not call `cls.__init__` again.
            return cls.keras_class(*args, **kwargs)
        return super().__new__(cls)

    def _fuses_updates(self):
        # Instances exist on TensorFlow and PyTorch only (see `__new__`).
        if keras.config.backend() == "torch":
            return True
        return not self.amsgrad

    def _apply_weight_decay(self, variables):
        # Folded into the fused update.
        if not self._fuses_updates():
            super()._apply_weight_decay(variables)

    def update_step(self, gradient, variable, learning_rate):
        # Called per variable (per replica copy under `tf.distribute`), as Keras'.
        if not self._fuses_updates():
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        if isinstance(gradient, tf.IndexedSlices):
            # Dense Adam on an embedding's gathered rows, as with a dense gradient.
            gradient = tf.convert_to_tensor(gradient)
        index = self._get_variable_index(variable)
        momentum, velocity = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        decay = self.weight_decay if self.weight_decay and self._use_weight_decay(variable) else 0.0
        # Inside `extended.update`, a mirrored moment's `handle` is this replica's.
        fused_adam(
            variable.handle, momentum.value.handle, velocity.value.handle,
            tf.cast(gradient, dtype), tf.cast(learning_rate, dtype),
            tf.cast(self.iterations + 1, dtype), tf.cast(decay, dtype),
            tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype),
            tf.cast(self.epsilon, dtype),
        )

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if keras.config.backend() != "torch":
            # TensorFlow's own (it handles `tf.distribute`), which calls `update_step`.
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        _torch_fused_adam(self, grads, trainable_variables, learning_rate)


def _torch_fused_adam(optimizer, grads, variables, learning_rate):
    """Keras' Adam/AdamW step for every variable through `torch._fused_adamw_`, one
    call per (device, dtype, weight decay) group."""
    import torch

    local_step = float(keras.ops.convert_to_numpy(optimizer.iterations)) + 1
    learning_rate = float(keras.ops.convert_to_numpy(learning_rate))
    # Keras: p -= lr * sqrt(c2) / c1 * m / (sqrt(v) + eps), with c = 1 - beta^t;
    # the kernel: p -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps').
    bias_correction_2 = 1 - optimizer.beta_2**local_step
    epsilon = optimizer.epsilon / math.sqrt(bias_correction_2)
    groups = {}
    for gradient, variable in zip(grads, variables):
        index = optimizer._get_variable_index(variable)
        value = variable.value
        decay = (
            optimizer.weight_decay
            if optimizer.weight_decay and optimizer._use_weight_decay(variable)
            else 0.0
        )
        group = groups.setdefault((value.device, value.dtype, decay), ([], [], [], [], []))
        group[0].append(value)
        group[1].append(gradient.to(value.dtype))
        group[2].append(optimizer._momentums[index].value)
        group[3].append(optimizer._velocities[index].value)
        if optimizer.amsgrad:
            group[4].append(optimizer._velocity_hats[index].value)
    with torch.no_grad():
        for (device, _, decay), (values, gradients, momenta, velocities, maxima) in groups.items():
            # The kernel reads the step count and does not change it.
            step = torch.tensor(local_step, dtype=torch.float32, device=device)
            torch._fused_adamw_(
                values, gradients, momenta, velocities, maxima, [step] * len(values),
                lr=learning_rate, beta1=optimizer.beta_1, beta2=optimizer.beta_2,
                weight_decay=decay, eps=epsilon, amsgrad=optimizer.amsgrad, maximize=False,
            )
