"""Fused GELU, layer normalization and dropout for training on TensorFlow.

Without XLA, TensorFlow runs keras_hub's tanh-GELU and Keras' layer normalization as
chains of small element-wise ops, and their gradients as longer ones: in mixed
bfloat16 on a CPU each op converts every element to float32 and back. For the
6-layer MiniLM on ATIS batches these chains took more time than the layers' matrix
products. Here each one is a `tf.custom_gradient` whose forward and backward passes
are one XLA program each (computed in float32, returned in the input's type), with
the same formulas: tanh-GELU `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, and
`(x − mean) / √(var + ε) · γ + β` over the last axis.

Dropout is fused too: its mask comes from a counter-based hash of the element's index
and the layer's seed (Keras' `SeedGenerator`, drawn once per call as Keras draws it),
computed inside the one XLA program that also scales and zeroes; the gradient
recomputes the same mask from the same seed instead of storing it. Keras' dropout
draws TensorFlow's Philox uniforms, in the input's type (a bfloat16 uniform under
mixed precision), with a separate random-number, comparison and selection op, and
XLA's own stateless uniform is far slower on a CPU. So the masks differ from
Keras' (same drop rate, same `1 / (1 − rate)` scaling, a different random
stream): a seeded run is reproducible, but not bit-equal to the unfused one.

`fused_training_ops(model)` swaps them into the model's layers for the time of a
training step's tracing (`MultiTaskModel.train_step`), then puts the originals back,
so prediction and export trace Keras' own ops. The other backends are left alone
(JAX compiles the whole step; PyTorch has fused kernels for GELU and layer norm).
"""

import contextlib
import functools
import math
import threading

import keras

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_CUBIC = 0.044715


@functools.cache
def _kernels():
    """The four XLA programs (built on first use, so importing needs no TF)."""
    import tensorflow as tf

    def tanh_term(x):
        return tf.tanh(_SQRT_2_OVER_PI * (x + _CUBIC * x * x * x))

    @tf.function(jit_compile=True, autograph=False)
    def gelu_forward(x):
        x32 = tf.cast(x, "float32")
        return tf.cast(0.5 * x32 * (1.0 + tanh_term(x32)), x.dtype)

    @tf.function(jit_compile=True, autograph=False)
    def gelu_backward(x, upstream):
        x32 = tf.cast(x, "float32")
        t = tanh_term(x32)
        slope = 0.5 * (1.0 + t) + 0.5 * x32 * (1.0 - t * t) * _SQRT_2_OVER_PI * (
            1.0 + 3 * _CUBIC * x32 * x32)
        return tf.cast(tf.cast(upstream, "float32") * slope, upstream.dtype)

    def normalized(x, epsilon):
        x32 = tf.cast(x, "float32")
        mean, variance = tf.nn.moments(x32, axes=[-1], keepdims=True)
        inverse = tf.math.rsqrt(variance + epsilon)
        return (x32 - mean) * inverse, inverse

    @tf.function(jit_compile=True, autograph=False)
    def norm_forward(x, gamma, beta, epsilon):
        x_hat, _ = normalized(x, epsilon)
        return tf.cast(x_hat * gamma + beta, x.dtype)

    @tf.function(jit_compile=True, autograph=False)
    def norm_backward(x, gamma, upstream, epsilon):
        x_hat, inverse = normalized(x, epsilon)
        upstream = tf.cast(upstream, "float32")
        batch_axes = list(range(len(x.shape) - 1))
        d_gamma = tf.reduce_sum(upstream * x_hat, axis=batch_axes)
        d_beta = tf.reduce_sum(upstream, axis=batch_axes)
        g = upstream * gamma
        d_x = inverse * (g - tf.reduce_mean(g, -1, keepdims=True)
                         - x_hat * tf.reduce_mean(g * x_hat, -1, keepdims=True))
        return tf.cast(d_x, x.dtype), d_gamma, d_beta

    def mix(h):
        # A 32-bit integer hash (xor-shift-multiply rounds, a bijection on uint32).
        h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
        h = h * tf.constant(0x7FEB352D, tf.uint32)
        h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 15))
        h = h * tf.constant(0x846CA68B, tf.uint32)
        return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))

    @tf.function(jit_compile=True, autograph=False)
    def dropout(x, seed, rate):
        # Forward and gradient alike: the same seed gives the same mask.
        seed = tf.bitcast(seed, tf.uint32)
        key = mix(tf.bitwise.bitwise_xor(seed[0], mix(seed[1] + tf.constant(0x9E3779B9, tf.uint32))))
        index = tf.reshape(tf.cast(tf.range(tf.size(x)), tf.uint32), tf.shape(x))
        bits = mix(mix(tf.bitwise.bitwise_xor(index, key)) + key)
        # P(bits >= threshold) = 1 - rate, to 2^-32.
        keep = bits >= tf.cast(tf.round(tf.cast(rate, tf.float64) * 2.0**32), tf.uint32)
        scale = tf.cast(1.0 / (1.0 - rate), x.dtype)
        return tf.where(keep, x * scale, tf.zeros_like(x))

    return {"gelu_forward": gelu_forward, "gelu_backward": gelu_backward,
            "norm_forward": norm_forward, "norm_backward": norm_backward,
            "dropout": dropout}


def fused_gelu(x):
    """keras_hub's tanh-approximate GELU, forward and gradient fused (TensorFlow)."""
    import tensorflow as tf

    kernels = _kernels()

    @tf.custom_gradient
    def gelu(x):
        return kernels["gelu_forward"](x), lambda upstream: kernels["gelu_backward"](x, upstream)

    return gelu(x)


def fused_layer_norm(x, gamma, beta, epsilon):
    """Layer normalization over the last axis with scale and offset, computed in
    float32 and returned in `x`'s type, as Keras' (TensorFlow)."""
    import tensorflow as tf

    kernels = _kernels()
    epsilon = tf.constant(epsilon, "float32")

    @tf.custom_gradient
    def norm(x, gamma, beta):
        def gradient(upstream):
            return kernels["norm_backward"](x, gamma, upstream, epsilon)

        return kernels["norm_forward"](x, gamma, beta, epsilon), gradient

    return norm(x, tf.cast(gamma, "float32"), tf.cast(beta, "float32"))


def fused_dropout(x, rate, seed):
    """Inverted dropout of `x` at `rate` (0 < rate < 1), mask from an int32 `seed`
    pair; the same XLA program computes the forward and the gradient (TensorFlow)."""
    import tensorflow as tf

    kernel = _kernels()["dropout"]
    rate = tf.constant(rate, "float32")

    @tf.custom_gradient
    def drop(x):
        return kernel(x, seed, rate), lambda upstream: kernel(upstream, seed, rate)

    return drop(x)


def _int32_seed(seed):
    # Keras' TensorFlow backend keeps seeds as int64 and folds them the same way
    # before its stateless ops.
    import tensorflow as tf

    if seed.dtype == tf.int32:
        return seed
    return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)


def _is_tanh_gelu(activation):
    # keras_hub's BERT layers use `keras_hub.src.utils.keras_utils.gelu_approximate`.
    return getattr(activation, "__name__", None) == "gelu_approximate"


# Under `MirroredStrategy` each replica traces the step in its own thread: the
# layers are swapped when the first one enters and put back when the last leaves.
_LOCK = threading.Lock()
_ACTIVE = {}  # id(model) -> [threads inside, swapped layers]


@contextlib.contextmanager
def fused_training_ops(model):
    """Within the block, the model's tanh-GELU activations and last-axis layer norms
    run fused (TensorFlow only; elsewhere a no-op). Put back on exit."""
    if keras.config.backend() != "tensorflow":
        yield
        return
    with _LOCK:
        entry = _ACTIVE.setdefault(id(model), [0, None])
        if entry[0] == 0:
            entry[1] = _swap_in(model)
        entry[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            entry[0] -= 1
            if entry[0] == 0:
                _swap_out(entry[1])
                del _ACTIVE[id(model)]


def _swap_in(model):
    swapped = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Dense) and _is_tanh_gelu(layer.activation):
            swapped.append((layer, layer.activation))
            layer.activation = fused_gelu
        elif _fusable_norm(layer):
            swapped.append((layer, None))
            layer.call = _fused_norm_call(layer)
        elif _fusable_dropout(layer):
            swapped.append((layer, None))
            layer.call = _fused_dropout_call(layer)
    return swapped


def _swap_out(swapped):
    for layer, activation in reversed(swapped):
        if activation is None:
            delattr(layer, "call")
        else:
            layer.activation = activation


def _fusable_norm(layer):
    return (isinstance(layer, keras.layers.LayerNormalization) and layer.built
            and layer.center and layer.scale and not layer.rms_scaling)


def _fused_norm_call(layer):
    def call(inputs):
        rank = len(inputs.shape)
        axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
        if [axis % rank for axis in axes] != [rank - 1]:
            return type(layer).call(layer, inputs)
        return fused_layer_norm(inputs, layer.gamma, layer.beta, layer.epsilon)

    return call


def _fusable_dropout(layer):
    return (type(layer) is keras.layers.Dropout and layer.noise_shape is None
            and 0 < layer.rate < 1)


def _fused_dropout_call(layer):
    def call(inputs, training=False):
        if training is not True:
            return type(layer).call(layer, inputs, training=training)
        seed = _int32_seed(layer.seed_generator.next())
        return fused_dropout(inputs, layer.rate, seed)

    return call
