import keras
import keras_hub
import numpy as np
import pytest

from keras_mtl import MultiTaskModel, MultiTaskPreprocessor, TaskGradientDiagnostics, TaskSpec, make_dataset
from keras_mtl.callbacks.task_gradients import shared_variables, task_losses_and_gradients
from tests.conftest import INTENTS, SLOT_TAGS, VOCAB, tiny_data, tiny_tokenizer


def dropout_free_model():
    tasks = [
        TaskSpec("intent", "classification", labels=INTENTS, pooling="cls", dropout=0.0),
        TaskSpec("slots", "token_classification", labels=SLOT_TAGS, dropout=0.0),
    ]
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB), num_layers=2, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=32, dropout=0.0,
    )
    preprocessor = MultiTaskPreprocessor(tiny_tokenizer(), tasks, 16)
    return MultiTaskModel(backbone, tasks, preprocessor=preprocessor)


def held_batch(model):
    ds = make_dataset(model.preprocessor, tiny_data(), batch_size=4, bucket_step=None)
    return tuple({k: np.asarray(v) for k, v in part.items()} for part in next(iter(ds)))


def test_task_gradient_matches_the_optimizer_step():
    keras.utils.set_random_seed(0)
    model = dropout_free_model()
    lr = 0.5
    model.compile(keras.optimizers.SGD(lr), loss_weights={"intent": 1.0, "slots": 0.0})
    batch = held_batch(model)
    variables = shared_variables(model)
    _, grads = task_losses_and_gradients(model, *batch, variables)
    before = np.concatenate([np.ravel(keras.ops.convert_to_numpy(v)) for v in variables])
    model.train_on_batch(*batch)
    after = np.concatenate([np.ravel(keras.ops.convert_to_numpy(v)) for v in variables])
    np.testing.assert_allclose((before - after) / lr, grads["intent"], rtol=2e-3, atol=1e-6)
    assert np.linalg.norm(grads["slots"]) > 0


def test_diagnostics_log_norms_and_cosines():
    keras.utils.set_random_seed(0)
    model = dropout_free_model()
    model.compile(keras.optimizers.SGD(0.1))
    batch = held_batch(model)
    history = model.fit(
        make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4),
        epochs=2, verbose=0, callbacks=[TaskGradientDiagnostics(batch, scope="backbone")],
    )
    h = history.history
    assert len(h["grad_norm_intent"]) == 2 and min(h["grad_norm_slots"]) > 0
    cosine = h["grad_cos_intent_slots"][-1]
    assert -1.0 <= cosine <= 1.0
    # Independent recomputation of the last value.
    _, grads = task_losses_and_gradients(model, *batch, shared_variables(model, "backbone"))
    a, b = grads["intent"], grads["slots"]
    assert cosine == pytest.approx(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)), abs=1e-5)
