"""The fused GELU and layer norm (TensorFlow) compute Keras' values and gradients;
the fused dropout drops at its rate, scales as Keras does and masks its gradient with
the forward's mask. All are swapped into keras_hub's BERT layers while a training step
is traced, leave the model as it was afterwards, and (GELU and norm) train it to the
same weights."""

import contextlib
import importlib

import keras
import numpy as np
import pytest

from keras_mtl.models import multi_task_model
from keras_mtl.models.fused_training_ops import (
    fused_dropout,
    fused_gelu,
    fused_layer_norm,
    fused_training_ops,
)
from tests.conftest import runs_once, tiny_data, tiny_model

fused_training_ops_module = importlib.import_module("keras_mtl.models.fused_training_ops")
pytestmark = runs_once("the fused ops exist on TensorFlow only; elsewhere a no-op")


def value_and_gradients(fn, *inputs):
    import tensorflow as tf

    inputs = [tf.convert_to_tensor(i) for i in inputs]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = fn(*inputs)
        # A non-uniform upstream gradient, so that every term of the backward counts.
        loss = tf.reduce_sum(tf.cast(out, "float32") * tf.range(out.shape[-1], dtype="float32"))
    return [out.numpy()] + [g.numpy() for g in tape.gradient(loss, inputs)]


def keras_gelu(x):
    return keras.activations.gelu(x, approximate=True)


def keras_layer_norm(x, gamma, beta):
    return keras.ops.cast(keras.ops.layer_normalization(x, gamma, beta, epsilon=1e-12), x.dtype)


def test_gelu_matches_keras_with_its_gradient():
    x = np.random.default_rng(0).normal(0, 3, size=(4, 7, 16)).astype("float32")
    # Gradients are scaled by up to 15 here; far in the negative tail, 1 − tanh²
    # cancels, so float32 rounding shows at the 1e-5 level.
    for ours, theirs in zip(value_and_gradients(fused_gelu, x),
                            value_and_gradients(keras_gelu, x)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)


def test_layer_norm_matches_keras_with_its_gradients():
    rng = np.random.default_rng(0)
    x = rng.normal(2, 3, size=(4, 7, 16)).astype("float32")
    gamma = rng.normal(1, 0.5, size=(16,)).astype("float32")
    beta = rng.normal(0, 0.5, size=(16,)).astype("float32")

    def ours(x, gamma, beta):
        return fused_layer_norm(x, gamma, beta, 1e-12)

    for a, b in zip(value_and_gradients(ours, x, gamma, beta),
                    value_and_gradients(keras_layer_norm, x, gamma, beta)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_bfloat16_in_bfloat16_out_close_to_float32():
    import tensorflow as tf

    x = np.random.default_rng(0).normal(0, 3, size=(4, 7, 16)).astype("float32")
    out = fused_gelu(tf.cast(x, "bfloat16"))
    assert out.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(out, "float32").numpy(), keras_gelu(x).numpy(),
                               rtol=1e-2, atol=2e-2)


def test_dropout_drops_at_its_rate_scales_and_masks_its_gradient():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).normal(1, 1, size=(8, 50, 256)).astype("float32"))
    seed = tf.constant([7, 3], "int32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fused_dropout(x, 0.1, seed)
    upstream = tf.ones_like(x) * 2.0
    gradient = tape.gradient(out, x, upstream).numpy()
    out, kept = out.numpy(), out.numpy() != 0
    # 102,400 draws: the kept share is within 5 standard deviations of 0.9.
    assert abs(kept.mean() - 0.9) < 5 * np.sqrt(0.9 * 0.1 / kept.size)
    scale = np.float32(1 / (1 - 0.1))
    np.testing.assert_array_equal(out[kept], x.numpy()[kept] * scale)
    np.testing.assert_array_equal(gradient, np.where(kept, 2.0 * scale, 0.0).astype("float32"))
    # A mask is a function of the seed: the same again, a new one for another seed,
    # independent of it (both drop an element about rate² of the time).
    np.testing.assert_array_equal(fused_dropout(x, 0.1, seed).numpy(), out)
    other = fused_dropout(x, 0.1, tf.constant([7, 4], "int32")).numpy() != 0
    assert abs((~kept & ~other).mean() - 0.01) < 0.003
    # The rate is the layer's, not a constant of the program.
    assert abs((fused_dropout(x, 0.5, seed).numpy() != 0).mean() - 0.5) < 0.01


def test_dropout_keeps_bfloat16():
    import tensorflow as tf

    out = fused_dropout(tf.ones((4, 16), "bfloat16"), 0.25, tf.constant([1, 2], "int32"))
    assert out.dtype == tf.bfloat16
    scale = tf.cast(tf.constant(4 / 3, "bfloat16"), "float32").numpy()
    assert set(np.unique(tf.cast(out, "float32").numpy())) == {0.0, scale}


def test_swapped_in_bert_layers_only_inside_the_block():
    model = tiny_model()
    dense = [layer for layer in model._flatten_layers()
             if isinstance(layer, keras.layers.Dense) and layer.activation.__name__ == "gelu_approximate"]
    norms = [layer for layer in model._flatten_layers()
             if isinstance(layer, keras.layers.LayerNormalization)]
    dropouts = [layer for layer in model._flatten_layers()
                if isinstance(layer, keras.layers.Dropout)]
    # keras_hub's BERT still uses its tanh-GELU, layer norms and dropout (attention,
    # embeddings, residual branches), and the heads their dropout.
    assert dense and norms and len(dropouts) >= 5
    x = np.ones((2, 8), "float32")
    with fused_training_ops(model):
        assert all(layer.activation is fused_gelu for layer in dense)
        assert all("call" in vars(layer) for layer in norms + dropouts)
        # Outside training a swapped dropout is still the identity.
        np.testing.assert_array_equal(dropouts[0](x, training=False), x)
    assert all(layer.activation.__name__ == "gelu_approximate" for layer in dense)
    assert not any("call" in vars(layer) for layer in norms + dropouts)


def trained_weights(monkeypatch, fused):
    if fused == "without dropout":
        # Dropout's masks come from another random stream than Keras', so only
        # GELU and layer norm can be compared weight for weight.
        monkeypatch.setattr(fused_training_ops_module, "_fusable_dropout", lambda layer: False)
    elif not fused:
        monkeypatch.setattr(multi_task_model, "fused_training_ops",
                            lambda model: contextlib.nullcontext())
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.5))
    from keras_mtl import make_dataset

    history = model.fit(make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4),
                        epochs=2, verbose=0)
    monkeypatch.undo()
    return history.history["loss"], [w.numpy() for w in model.trainable_weights]


def test_training_reaches_the_same_weights(monkeypatch):
    fused_loss, fused = trained_weights(monkeypatch, fused="without dropout")
    plain_loss, plain = trained_weights(monkeypatch, fused=False)
    np.testing.assert_allclose(fused_loss, plain_loss, rtol=1e-5)
    assert fused_loss[1] != fused_loss[0]
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_training_with_fused_dropout_is_seeded(monkeypatch):
    first_loss, first = trained_weights(monkeypatch, fused=True)
    again_loss, again = trained_weights(monkeypatch, fused=True)
    assert first_loss == again_loss
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
