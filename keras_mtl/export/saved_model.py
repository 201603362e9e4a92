"""TensorFlow SavedModel export for TF Serving: raw strings in, named task outputs out.

`export_saved_model(model, "saved_models/atis/1")` writes a SavedModel (TF Serving's
`<name>/<version>` layout) with two signatures:

* `serving_default(text: string[batch])`: tokenizer, packing, model and decoding
  in one graph. Outputs, per task: `<task>_scores` and, for classification,
  `<task>_label` (string); for token classification `<task>_scores`
  (batch, words, labels) and `<task>_labels` (batch, words) strings per
  *word* (padded with `""`); for multi-label `<task>_scores` and
  `<task>_predicted` (bool per label); for regression `<task>_value`. Plus
  `num_words` (words per text before truncation). A text with no words (empty or
  whitespace only) gets empty labels and zero scores.
* `serve_token_ids(token_ids, segment_ids, padding_mask: int32[batch, length])`:
  for clients that tokenize themselves; outputs `<task>_scores` per sub-word and
  `<task>_label` for classification tasks.

Loading it needs TensorFlow and `import tensorflow_text` (the tokenizer's ops).
On JAX and PyTorch the model is saved and re-exported by a TensorFlow process.
"""

import os

import keras

from keras_mtl.export.tensorflow_process import export_through_tensorflow

TF_TEXT_OPS = ("CaseFoldUTF8", "FastWordpieceTokenizeWithOffsets", "RegexSplitWithOffsets")
"""The only non-core ops in our serving graph: TF Serving must bundle TF Text with
these (all three exist in the TF Text that recent TF Serving builds bundle; the
packer is plain TF ops, so `TFText>RoundRobinTrim`, missing from older serving
images, is not used)."""


def export_saved_model(model, path, verbose=False):
    """Writes `model` (a `MultiTaskModel` with a preprocessor) as a SavedModel at `path`."""
    if getattr(model, "preprocessor", None) is None:
        raise ValueError(
            "export_saved_model needs a model with a preprocessor: the serving "
            "signature takes raw strings."
        )
    if os.path.exists(path) and os.listdir(path):
        raise ValueError(f"{path} exists and is not empty; export to a new version folder.")
    if keras.config.backend() != "tensorflow":
        return export_through_tensorflow(model, "export_saved_model", path)
    import tensorflow as tf

    # No `archive.track(model)`: the endpoints capture every variable they use,
    # and tracking the model as well stores each weight twice (keras-team/keras
    # #23553: `keras.Variable` wrappers and the captured `tf.Variable`s are
    # different objects to TF's checkpoint de-duplication).
    archive = keras.export.ExportArchive()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(text):
        return text_outputs(model, text)

    ids_spec = {
        name: tf.TensorSpec([None, None], tf.int32, name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }

    @tf.function(input_signature=[ids_spec])
    def serve_token_ids(inputs):
        return token_id_outputs(model, inputs)

    archive.add_endpoint("serving_default", serve_text)
    archive.add_endpoint("serve_token_ids", serve_token_ids)
    archive.write_out(path, verbose=verbose)
    return path


def custom_ops(path):
    """Sorted op types of a SavedModel that core TensorFlow does not register."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    ops = set()
    for graph in saved_model.meta_graphs:
        ops.update(node.op for node in graph.graph_def.node)
        for function in graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return sorted(op for op in ops if op_def_registry.get(op) is None)


def text_outputs(model, text):
    """The `serving_default` graph: strings → named, decoded task outputs."""
    import tensorflow as tf

    preprocessor = model.preprocessor
    encoded = preprocessor.encode(text)
    x, _, _ = preprocessor.pack(encoded)
    scores = model(x, training=False)
    num_words = encoded["num_words"]
    has_words = num_words > 0
    is_word = encoded["word_ids"].to_tensor(-1) >= 0
    outputs = {"num_words": num_words}
    for spec in model.tasks:
        task_scores = tf.cast(scores[spec.name], tf.float32)
        keep = tf.cast(has_words, tf.float32)
        if spec.token_level:
            per_word = tf.ragged.boolean_mask(task_scores, is_word)
            ids = per_word.with_flat_values(tf.argmax(per_word.flat_values, axis=-1))
            tags = ids.with_flat_values(tf.gather(tf.constant(spec.labels), ids.flat_values))
            outputs[f"{spec.name}_scores"] = per_word.to_tensor(0.0)
            outputs[f"{spec.name}_labels"] = tags.to_tensor("")
        elif spec.type == "classification":
            label = tf.gather(tf.constant(spec.labels), tf.argmax(task_scores, axis=-1))
            outputs[f"{spec.name}_scores"] = task_scores * keep[:, tf.newaxis]
            outputs[f"{spec.name}_label"] = tf.where(has_words, label, "")
        elif spec.type == "multi_label":
            outputs[f"{spec.name}_scores"] = task_scores * keep[:, tf.newaxis]
            outputs[f"{spec.name}_predicted"] = tf.logical_and(
                task_scores >= spec.threshold, has_words[:, tf.newaxis]
            )
        else:
            outputs[f"{spec.name}_value"] = task_scores[:, 0] * keep
    return outputs


def token_id_outputs(model, inputs):
    """The `serve_token_ids` graph: packed ids → scores (+ sentence labels)."""
    import tensorflow as tf

    scores = model(inputs, training=False)
    outputs = {}
    for spec in model.tasks:
        task_scores = tf.cast(scores[spec.name], tf.float32)
        outputs[f"{spec.name}_scores"] = task_scores
        if spec.type == "classification":
            outputs[f"{spec.name}_label"] = tf.gather(
                tf.constant(spec.labels), tf.argmax(task_scores, axis=-1)
            )
    return outputs
