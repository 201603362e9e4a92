"""ONNX export for edge devices: token ids in, named per-task scores out.

`export_onnx(model, "model.onnx")` writes an ONNX graph (opset 17 by default) with
inputs `token_ids`, `segment_ids`, `padding_mask` (int32, shape [batch, sequence])
and one float output per task, `<task>_scores`, shaped as the task type's
`score_axes` say: probabilities [batch, labels] (sentence tasks) or [batch,
sequence, labels] (word tags); [batch, 1] for regression; log-probabilities
[batch, sequence, sequence, 1 + relations] for dependency parsing. Nothing after the heads is in the graph (no argmax: onnxruntime
rejects what TF's argmax lowers to, and decoding belongs to the runtime, which
knows the label names). Each layer norm is one `LayerNormalization` node
(`onnx_fusion.fuse_layer_norms`). `quantize="int8"` applies onnxruntime's dynamic
int8 quantization to the weights of every matrix product (`Gemm` rewritten as
`MatMul` first, `onnx_fusion.gemm_as_matmul`). A model trained in mixed precision
is exported in float32 (`precision.float32_model`).
"""

import os
import tempfile

import keras

from keras_mtl.export.onnx_fusion import fuse_layer_norms, gemm_as_matmul
from keras_mtl.export.precision import float32_model
from keras_mtl.export.tensorflow_process import export_through_tensorflow
from keras_mtl.outputs import check_new_file, new_file

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")
QUANTIZE_MODES = (None, "int8")


def export_onnx(model, path, quantize=None, opset=17):
    """Writes `model` (a `MultiTaskModel`) as an ONNX file at `path`.

    Refuses (`OutputExistsError`) a `path` that exists; the file appears complete
    or not at all."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}.")
    if int(opset) < 17:
        raise ValueError(f"opset must be >= 17, got {opset}.")
    check_new_file(path, "ONNX file")
    model = float32_model(model)
    if keras.config.backend() != "tensorflow":
        return export_through_tensorflow(
            model, "export_onnx", path, quantize=quantize, opset=int(opset)
        )
    with new_file(path, "ONNX file") as tmp:
        _write_onnx(model, tmp, quantize, opset)
    return path


def _write_onnx(model, path, quantize, opset):
    import onnx
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec([None, None], tf.int32, name=name) for name in INPUT_NAMES]

    @tf.function(input_signature=spec)
    def scores(token_ids, segment_ids, padding_mask):
        inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
        outputs = model(inputs, training=False)
        return {f"{name}_scores": tf.cast(value, tf.float32) for name, value in outputs.items()}

    proto, _ = tf2onnx.convert.from_function(scores, input_signature=spec, opset=int(opset))
    _name_dynamic_axes(proto, model)
    fuse_layer_norms(proto)
    if quantize is None:
        onnx.save(proto, path)
        return
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    # Quantizes the Dense layers that tf2onnx wrote as Gemm too.
    gemm_as_matmul(proto)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = os.path.join(tmp, "fp32.onnx")
        prepared = os.path.join(tmp, "prepared.onnx")
        onnx.save(proto, fp32)
        quant_pre_process(fp32, prepared, skip_symbolic_shape=True)
        quantize_dynamic(prepared, path, weight_type=QuantType.QInt8)


def _name_dynamic_axes(proto, model):
    """Calls the dynamic axes `batch` and `sequence` instead of tf2onnx's `unk__N`."""
    for value in proto.graph.input:
        for dim, name in zip(value.type.tensor_type.shape.dim, ("batch", "sequence")):
            dim.dim_param = name
    axes = {f"{spec.name}_scores": spec.task_type.score_axes(spec) for spec in model.tasks}
    for value in proto.graph.output:
        names = axes.get(value.name, ())
        for dim, name in zip(value.type.tensor_type.shape.dim, names):
            if not dim.dim_value:
                dim.dim_param = name
