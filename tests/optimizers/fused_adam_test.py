"""keras_mtl's Adam/AdamW give Keras' own updates (fused into one XLA program per
variable on TensorFlow, into PyTorch's fused AdamW kernel on PyTorch): same weights
after several steps, an embedding's sparse gradient included, exclusions, amsgrad,
clipping and gradient accumulation kept, config and `.keras` round trips."""


import keras
import numpy as np
import pytest

import keras_mtl
from tests.conftest import run_fresh


class OneHotEmbedding(keras.layers.Layer):
    """An embedding looked up by a one-hot product: its gradient is dense on every
    backend (a gather's is `IndexedSlices` on TensorFlow)."""

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(11, 6), name="embeddings")

    def call(self, inputs):
        return keras.ops.matmul(keras.ops.one_hot(inputs, 11), self.embeddings)


def small_model(lookup="gather"):
    """An embedding, a layer norm and a dense head."""
    inputs = keras.Input((5,), dtype="int32")
    if lookup == "gather":
        x = keras.layers.Embedding(11, 6, name="embedding")(inputs)
    else:
        x = OneHotEmbedding(name="embedding")(inputs)
    x = keras.layers.LayerNormalization(name="norm")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3, name="head")(x)
    return keras.Model(inputs, outputs)


def batches(steps, repeated_ids):
    """`steps` batches of token ids; without `repeated_ids`, no id occurs twice in
    a batch (so a gather's gradient rows are distinct), and ids 10 is never seen."""
    rng = np.random.default_rng(0)
    for _ in range(steps):
        if repeated_ids:
            x = rng.integers(0, 7, size=(8, 5))
        else:
            x = rng.permutation(10).reshape(2, 5)
        yield x.astype("int32"), rng.integers(0, 3, size=(len(x),))


def train_weights(optimizer, steps=4, lookup="gather", repeated_ids=False):
    keras.utils.set_random_seed(0)
    initial = small_model().get_weights()
    model = small_model(lookup)
    model.set_weights(initial)
    model.compile(optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for x, y in batches(steps, repeated_ids):
        model.train_on_batch(x, y)
    return [np.asarray(keras.ops.convert_to_numpy(w)) for w in model.weights]


def assert_same_weights(ours, theirs):
    # Equal up to float rounding: XLA fuses the arithmetic (a few 1e-6 after four
    # steps of size 0.05; a missing term or a wrong step count moves weights by
    # about 1e-3 or more).
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def decaying(cls):
    optimizer = cls(learning_rate=0.05, weight_decay=0.1)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def test_adamw_matches_keras():
    ours = train_weights(decaying(keras_mtl.optimizers.AdamW))
    theirs = train_weights(decaying(keras.optimizers.AdamW))
    assert_same_weights(ours, theirs)
    # The steps moved the weights, and decay was applied (a run without it differs).
    untrained = train_weights(decaying(keras.optimizers.AdamW), steps=0)
    assert not np.allclose(ours[0], untrained[0])
    without_decay = train_weights(keras.optimizers.Adam(learning_rate=0.05))
    assert not np.allclose(ours[0], without_decay[0], atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"amsgrad": True}, {"beta_1": 0.8, "epsilon": 1e-3}])
def test_adam_matches_keras(kwargs):
    ours = train_weights(keras_mtl.optimizers.Adam(learning_rate=0.05, **kwargs))
    theirs = train_weights(keras.optimizers.Adam(learning_rate=0.05, **kwargs))
    assert_same_weights(ours, theirs)


@pytest.mark.parametrize(
    "kwargs", [{"gradient_accumulation_steps": 2}, {"global_clipnorm": 0.5}, {"clipvalue": 0.01}]
)
def test_clipping_and_accumulation_are_keras(kwargs):
    """Keras clips and accumulates gradients before the update it hands over."""
    def optimizer(cls):
        return decaying(lambda **options: cls(**options, **kwargs))

    ours = train_weights(optimizer(keras_mtl.optimizers.AdamW), steps=6)
    assert_same_weights(ours, train_weights(optimizer(keras.optimizers.AdamW), steps=6))
    # The option changed the result (so the comparison saw it).
    assert not np.allclose(ours[0], train_weights(decaying(keras.optimizers.AdamW), steps=6)[0],
                           atol=1e-5)


def test_repeated_rows_square_the_summed_gradient():
    """When a batch holds an id twice, Adam squares the row's summed gradient, as
    with a dense gradient and as PyTorch does. (Keras' own Adam on TensorFlow squares
    each occurrence's gradient apart, through `IndexedSlices`, and so differs there
    from itself on JAX and PyTorch.)"""
    ours = train_weights(keras_mtl.optimizers.Adam(0.05), repeated_ids=True)
    dense = train_weights(keras.optimizers.Adam(0.05), lookup="one_hot", repeated_ids=True)
    assert_same_weights(ours, dense)


def test_learning_rate_schedule_is_followed():
    def optimizer(cls):
        schedule = keras.optimizers.schedules.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=2)
        return cls(learning_rate=schedule, weight_decay=0.01)

    assert_same_weights(train_weights(optimizer(keras_mtl.optimizers.AdamW)),
                        train_weights(optimizer(keras.optimizers.AdamW)))


def test_config_round_trip_keeps_the_class():
    optimizer = decaying(keras_mtl.optimizers.AdamW)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is type(optimizer)
    assert restored.get_config() == optimizer.get_config()


def test_keras_own_optimizers_on_jax():
    optimizer = keras_mtl.optimizers.AdamW(0.01, weight_decay=0.1)
    fused = keras.config.backend() in ("tensorflow", "torch")
    assert isinstance(optimizer, keras_mtl.optimizers.AdamW) == fused
    # On JAX, Keras' own AdamW (compiled with the whole training step).
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert type(optimizer).__module__.startswith(
        "keras_mtl" if fused else "keras.src")


def test_saved_model_reloads_with_its_optimizer_in_a_fresh_process(tmp_path):
    keras.utils.set_random_seed(0)
    model = small_model()
    model.compile(keras_mtl.optimizers.AdamW(0.05, weight_decay=0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.arange(40, dtype="int32").reshape(8, 5) % 11
    y = np.arange(8) % 3
    model.train_on_batch(x, y)
    path = tmp_path / "model.keras"
    model.save(path)
    model.train_on_batch(x, y)
    expected = model.predict_on_batch(x)
    np.save(tmp_path / "x.npy", x)
    # Loading resolves the registered class name; training on goes on from the
    # saved moments and step count, exactly as the original did.
    code = (
        "import json, sys, numpy as np, keras, keras_mtl.optimizers\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "x = np.load(sys.argv[2])\n"
        "model.train_on_batch(x, np.arange(8) % 3)\n"
        "print(json.dumps({'class': type(model.optimizer).__name__,\n"
        "                  'module': type(model.optimizer).__module__,\n"
        "                  'out': model.predict_on_batch(x).tolist()}))\n"
    )
    report = run_fresh(code, str(path), str(tmp_path / "x.npy"), backend=keras.config.backend())
    if keras.config.backend() in ("tensorflow", "torch"):
        assert (report["module"], report["class"]) == ("keras_mtl.optimizers.adamw", "AdamW")
    else:
        assert report["module"].startswith("keras.") and report["class"] == "AdamW"
    np.testing.assert_allclose(report["out"], expected, rtol=1e-5, atol=1e-6)
