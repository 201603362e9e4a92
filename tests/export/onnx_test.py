"""ONNX export checked by onnxruntime against the Keras model."""

import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from keras_mtl.export import export_onnx
from tests.conftest import TEXTS, tiny_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = tiny_model()
    directory = tmp_path_factory.mktemp("onnx")
    fp32 = export_onnx(model, str(directory / "model.onnx"))
    int8 = export_onnx(model, str(directory / "model_int8.onnx"), quantize="int8")
    return model, fp32, int8


def packed(model, texts):
    x, _, _ = model.preprocessor.pack(model.preprocessor.encode(texts))
    return {k: np.asarray(v) for k, v in x.items()}


def test_fp32_matches_keras(exported):
    model, fp32, _ = exported
    session = ort.InferenceSession(fp32, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["token_ids", "segment_ids", "padding_mask"]
    assert [i.shape for i in session.get_inputs()] == [["batch", "sequence"]] * 3
    outputs = {o.name: o.shape for o in session.get_outputs()}
    assert outputs == {"intent_scores": ["batch", 2], "slots_scores": ["batch", "sequence", 5]}
    for texts in (TEXTS, TEXTS[:1], TEXTS * 3):  # dynamic batch and sequence lengths
        x = packed(model, texts)
        got = dict(zip(outputs, session.run(list(outputs), x)))
        want = model.predict_on_batch(x)
        for name in ("intent", "slots"):
            np.testing.assert_allclose(got[f"{name}_scores"], keras.ops.convert_to_numpy(want[name]), atol=1e-4)


def test_graph_has_no_post_processing(exported):
    _, fp32, _ = exported
    ops = {node.op_type for node in onnx.load(fp32).graph.node}
    assert not ops & {"ArgMax", "Bitcast", "BitwiseAnd"}
    assert onnx.load(fp32).opset_import[0].version >= 17


def test_every_layer_norm_is_one_node(exported):
    model, fp32, int8 = exported
    # The embeddings' layer norm and two per transformer layer.
    expected = 1 + 2 * model.backbone.num_layers
    for path in (fp32, int8):
        ops = [node.op_type for node in onnx.load(path).graph.node]
        assert ops.count("LayerNormalization") == expected
        assert "GlobalAveragePool" not in ops and "Reciprocal" not in ops


def test_int8_runs_and_stays_close(exported):
    model, fp32, int8 = exported
    ops = [node.op_type for node in onnx.load(int8).graph.node]
    # Q, K, V, the two feed-forward layers and the two heads: the Dense layers
    # tf2onnx writes as Gemm are quantized too. (The attention output's weight is
    # reshaped at run time: it stays fp32.)
    layers = model.backbone.num_layers
    assert ops.count("MatMulInteger") == 5 * layers + len(model.tasks)
    assert "Gemm" in ops and ops.count("Gemm") == layers
    x = packed(model, TEXTS)
    a = ort.InferenceSession(fp32).run(["slots_scores"], x)[0]
    b = ort.InferenceSession(int8).run(["slots_scores"], x)[0]
    assert a.shape == b.shape and np.isfinite(b).all()
    assert np.abs(a - b).max() < 0.05


def test_bad_options_are_refused(tmp_path):
    model = tiny_model()
    with pytest.raises(ValueError, match="quantize must be one of"):
        export_onnx(model, str(tmp_path / "m.onnx"), quantize="int4")
    with pytest.raises(ValueError, match="opset must be >= 17"):
        export_onnx(model, str(tmp_path / "m.onnx"), opset=13)
