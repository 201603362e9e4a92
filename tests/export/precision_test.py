"""A model trained in mixed precision exports in float32, and its artefacts run."""

import keras
import numpy as np
import onnxruntime as ort
import pytest

from keras_mtl.data import make_dataset
from keras_mtl.export import export_onnx
from keras_mtl.export.precision import float32_model
from tests.conftest import TEXTS, artefact_labels, runs_once, tiny_data, tiny_model


POLICIES = pytest.mark.parametrize(
    "trained_mixed", ["mixed_bfloat16", "mixed_float16"], indirect=True)


@pytest.fixture(scope="module")
def trained_mixed(request):
    """A tiny model built and trained two epochs under a mixed policy (bfloat16
    unless the test names one)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(getattr(request, "param", "mixed_bfloat16"))
    try:
        keras.utils.set_random_seed(0)
        model = tiny_model()
        model.compile(keras.optimizers.Adam(1e-2))
        model.fit(make_dataset(model.preprocessor, tiny_data(repeat=2), batch_size=4),
                  epochs=2, verbose=0)
    finally:
        keras.config.set_dtype_policy(previous)
    return model


def packed(model, texts):
    x, _, _ = model.preprocessor.pack(model.preprocessor.encode(texts))
    return {k: np.asarray(v) for k, v in x.items()}


def numpy_outputs(model, x):
    return {k: np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float32)
            for k, v in model.predict_on_batch(x).items()}


@POLICIES
def test_float32_copy_has_the_weights_and_float32_layers(trained_mixed):
    model = trained_mixed
    assert model.backbone.compute_dtype != "float32"
    copy = float32_model(model)
    assert copy is not model and copy.preprocessor is model.preprocessor
    assert [spec.name for spec in copy.tasks] == [spec.name for spec in model.tasks]
    own = {id(layer) for layer in model.preprocessor._flatten_layers()}
    policies = {layer.dtype_policy.name for layer in copy._flatten_layers()
                if id(layer) not in own}
    assert not policies & {"mixed_bfloat16", "mixed_float16"}
    weights, copied = model.get_weights(), copy.get_weights()
    assert len(weights) == len(copied)
    for a, b in zip(weights, copied):
        np.testing.assert_array_equal(a, b)
    # The two differ by the half type's rounding only.
    x = packed(model, TEXTS)
    mixed, full = numpy_outputs(model, x), numpy_outputs(copy, x)
    for name in mixed:
        assert full[name].dtype == np.float32
        np.testing.assert_allclose(full[name], mixed[name], atol=0.05)
    # A float32 model is exported as it is.
    assert float32_model(copy) is copy


@POLICIES
@runs_once("the float32 copy is made on every backend above; the exporters' "
           "TensorFlow step from every backend is tested in tests/export/")
def test_onnx_of_a_mixed_model_runs_in_onnxruntime(trained_mixed, tmp_path):
    model = trained_mixed
    path = export_onnx(model, str(tmp_path / "model.onnx"))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = packed(model, TEXTS)
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(names, x)))
    want = numpy_outputs(float32_model(model), x)
    for name in want:
        np.testing.assert_allclose(got[f"{name}_scores"], want[name], atol=1e-4)


@runs_once("the float32 copy is made on every backend above; the exporters' "
           "TensorFlow step from every backend is tested in tests/export/")
def test_saved_model_and_edge_of_a_mixed_model_predict_its_labels(trained_mixed, tmp_path):
    model = trained_mixed
    expected = {task: out["labels"]
                for task, out in float32_model(model).predict(TEXTS).items()}
    saved_model, edge = artefact_labels(model, str(tmp_path), TEXTS)
    assert saved_model == expected and edge == expected
