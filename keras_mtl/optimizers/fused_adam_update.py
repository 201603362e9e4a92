"""The fused Adam/AdamW update shared by `keras_mtl.optimizers.Adam` and `AdamW`.

Keras' TensorFlow optimizers write Adam as a chain of element-wise ops (cast,
subtract, multiply, assign-add, square, sqrt, divide, assign-sub), plus one more
pass for AdamW's weight decay: each op streams the variable's full size through
memory. On a CPU, for a 22.7 M-parameter BERT, that chain was a third of a training
step. Compiled with XLA, one variable's new value and moments come out of a single
loop over its elements. The arithmetic is Keras' `Adam.update_step` and
`_apply_weight_decay`, in the same order.
"""

import functools

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
    variable in one XLA program. `amsgrad=True` keeps Keras' own update. On the
    other backends the constructor returns Keras' own optimizer (`keras_class`), so
    that Keras' PyTorch multi-tensor implementation is kept."""

    keras_class = None

    def __new__(cls, *args, **kwargs):
        if keras.config.backend() != "tensorflow":
            # Not an instance of `cls`, so Python does not call `cls.__init__` again.
            return cls.keras_class(*args, **kwargs)
        return super().__new__(cls)

    def _fuses_updates(self):
        # Instances exist on TensorFlow only (see `__new__`).
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
