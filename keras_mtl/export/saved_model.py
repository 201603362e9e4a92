"""TensorFlow SavedModel export for TF Serving: raw strings in, named task outputs out.

`export_saved_model(model, "saved_models/atis/1")` writes a SavedModel (TF Serving's
`<name>/<version>` layout) with these signatures:

* `serving_default(text: string[batch])`: tokenizer, packing, model and the
  task types' output pieces in one graph. Outputs `num_words` (words per text
  before truncation), `kept_words` (words whose first sub-word fits the sequence
  length; the others are cut off) and, per task, what its type serves (`TaskType.serving_outputs`):
  classification `<task>_scores`, `<task>_label`; BIO / plain word tags
  `<task>_scores` (batch, words, labels) and `<task>_labels` (batch, words; `""`
  padding); multi-label `<task>_scores`, `<task>_predicted`; regression
  `<task>_value`; dependency parsing `<task>_head_scores` (batch, words, words + 1:
  log-probabilities, column 0 = root), `<task>_relations` (the best relation per
  dependent/head pair) and `<task>_kept_words`, decoded into a tree on the client
  (`keras-mtl predict` runs the maximum spanning tree). A text with no words gets
  empty labels and zero scores.
* `serve_text_pair(text, text_pair: string[batch])` (models with a text-pair
  task): the same outputs for `[CLS] text [SEP] text_pair [SEP]`; a row whose
  `text_pair` is `""` is a single text, and text-pair tasks give it empty outputs.
* `serve_token_ids(token_ids, segment_ids, padding_mask: int32[batch, length])`:
  for clients that tokenize themselves; sentence-level tasks give their decoded
  outputs, word-level tasks their raw `<task>_scores` per sub-word.

`assets.extra/keras_mtl.json` describes the tasks (types, labels) so that
`keras_mtl.export.saved_model_client.SavedModelClient` (and `keras-mtl predict
SAVED_MODEL`) decodes the outputs exactly as the model does.
Loading needs TensorFlow and `import tensorflow_text` (the tokenizer's ops, see
`TF_TEXT_OPS`). On JAX and PyTorch the model is saved and re-exported by a
TensorFlow process. A model trained in mixed precision is exported in float32
(`precision.float32_model`).
"""

import json
import os

import keras

from keras_mtl.artifacts import SAVED_MODEL_METADATA
from keras_mtl.export import saved_model_client
from keras_mtl.export.precision import float32_model
from keras_mtl.export.saved_model_client import METADATA_FORMAT
from keras_mtl.export.tensorflow_process import export_through_tensorflow
from keras_mtl.outputs import check_new_directory, new_directory
from keras_mtl.preprocessing.bert_tokenizer import TF_TEXT_OPS  # noqa: F401  (what TF Serving must bundle)

METADATA_FILE = SAVED_MODEL_METADATA


def export_saved_model(model, path, verbose=False):
    """Writes `model` (a `MultiTaskModel` with a preprocessor) as a SavedModel at `path`."""
    if getattr(model, "preprocessor", None) is None:
        raise ValueError(
            "export_saved_model needs a model with a preprocessor: the serving "
            "signature takes raw strings."
        )
    check_new_directory(path, "SavedModel folder")
    model = float32_model(model)
    if keras.config.backend() != "tensorflow":
        return export_through_tensorflow(model, "export_saved_model", path)
    with new_directory(path, "SavedModel folder") as tmp:
        _write_saved_model(model, tmp, verbose)
    return path


def _write_saved_model(model, path, verbose):
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
    if any(spec.text_pair for spec in model.tasks):
        pair_spec = [tf.TensorSpec([None], tf.string, name=name) for name in ("text", "text_pair")]

        @tf.function(input_signature=pair_spec)
        def serve_text_pair(text, text_pair):
            return text_outputs(model, text, text_pair)

        archive.add_endpoint("serve_text_pair", serve_text_pair)
    archive.add_endpoint("serve_token_ids", serve_token_ids)
    archive.write_out(path, verbose=verbose)
    write_metadata(model, path)


def write_metadata(model, path):
    """Writes `assets.extra/keras_mtl.json`: the tasks' descriptions and the
    sequence length (TF Serving ignores `assets.extra`)."""
    metadata = {
        "format": METADATA_FORMAT,
        "sequence_length": model.preprocessor.sequence_length,
        "tasks": [spec.describe() for spec in model.tasks],
    }
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with open(os.path.join(path, METADATA_FILE), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2)


def read_metadata(path):
    """The `TaskDescription`s stored beside a SavedModel by `export_saved_model`;
    an `ArtifactError` for a SavedModel without them (see `saved_model_client`)."""
    return saved_model_client.read_metadata(path)["tasks"]


def custom_ops(path):
    """Sorted op types of a SavedModel that core TensorFlow does not define
    (`tf.raw_ops` lists core ops only, whether or not TF Text is loaded)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    ops = set()
    for graph in saved_model.meta_graphs:
        ops.update(node.op for node in graph.graph_def.node)
        for function in graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return sorted(op for op in ops if not hasattr(tf.raw_ops, op))


def text_outputs(model, text, text_pair=None):
    """The raw-text signatures' graph: strings (and pairs) → named task outputs."""
    import tensorflow as tf

    preprocessor = model.preprocessor
    encoded = preprocessor.encode(text, text_pair=text_pair)
    x, _, _ = preprocessor.pack(encoded)
    scores = model(x, training=False)
    num_words = encoded["num_words"]
    word_ids = encoded["word_ids"]
    positions = tf.ragged.boolean_mask(tf.ragged.range(word_ids.row_lengths()), word_ids >= 0)
    has_text = num_words > 0
    # Words whose first sub-word was packed: fewer than `num_words` when truncation
    # cut words off (the client warns and labels them None).
    outputs = {"num_words": num_words, "kept_words": tf.cast(positions.row_lengths(), tf.int32)}
    for spec in model.tasks:
        words = {
            "positions": positions,
            "num_words": num_words,
            "has_pair": encoded["has_pair"],
            "has_text": tf.logical_and(has_text, encoded["has_pair"]) if spec.text_pair else has_text,
        }
        task_scores = tf.cast(scores[spec.name], tf.float32)
        served = spec.task_type.serving_outputs(spec, task_scores, words)
        outputs.update({f"{spec.name}_{suffix}": value for suffix, value in served.items()})
    return outputs


def token_id_outputs(model, inputs):
    """The `serve_token_ids` graph: packed ids → sentence tasks' decoded outputs,
    word-level tasks' raw scores."""
    import tensorflow as tf

    scores = model(inputs, training=False)
    batch = tf.shape(inputs["token_ids"])[0]
    words = {
        "has_text": tf.ones([batch], tf.bool),
        "has_pair": tf.reduce_any(inputs["segment_ids"] > 0, axis=1),
    }
    outputs = {}
    for spec in model.tasks:
        task_scores = tf.cast(scores[spec.name], tf.float32)
        if spec.token_level:
            outputs[f"{spec.name}_scores"] = task_scores
            continue
        served = spec.task_type.serving_outputs(spec, task_scores, words)
        outputs.update({f"{spec.name}_{suffix}": value for suffix, value in served.items()})
    return outputs
