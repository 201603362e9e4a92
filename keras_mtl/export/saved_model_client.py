"""`SavedModelClient`: raw text → decoded task predictions from an exported SavedModel.

The client side of `export_saved_model`: it calls the raw-text signature in this
process (TensorFlow + TF Text, no Keras model) and decodes each task's outputs with
its type (`TaskType.from_serving`; parsing: maximum spanning tree), so that its
predictions have the structure of `MultiTaskModel.predict` and `EdgeModel.predict`.
`keras-mtl predict SAVED_MODEL` uses it.
"""

import os

from keras_mtl import artifacts
from keras_mtl.artifacts import EXPORT_SAVED_MODEL, SAVED_MODEL_METADATA
from keras_mtl.decoding import empty_results, finish_results
from keras_mtl.errors import ArtifactError
from keras_mtl.preprocessing.text_inputs import check_batch_size, check_texts
from keras_mtl.preprocessing.truncation import warn_truncated
from keras_mtl.preprocessing.words import split_words

METADATA_FORMAT = 1


def read_metadata(path):
    """`{"tasks": [TaskDescription], "sequence_length": int}` of a SavedModel
    written by `export_saved_model`; an `ArtifactError` otherwise."""
    file = os.path.join(path, SAVED_MODEL_METADATA)
    if not os.path.isfile(file):
        raise ArtifactError(
            f"{path} is a SavedModel without keras_mtl metadata ({SAVED_MODEL_METADATA}): "
            "it was not written by `keras-mtl export`, so its outputs cannot be decoded "
            "into labels. Serve it with TF Serving or tf.saved_model.load, or export the "
            f"run with {EXPORT_SAVED_MODEL}."
        )
    metadata = artifacts.read_json(
        file, f"the SavedModel {path}", f"Re-export it with {EXPORT_SAVED_MODEL}."
    )
    artifacts.check_format(metadata, file, METADATA_FORMAT, EXPORT_SAVED_MODEL)
    return {
        "tasks": artifacts.read_tasks(metadata, file, EXPORT_SAVED_MODEL),
        "sequence_length": metadata.get("sequence_length"),
    }


class SavedModelClient:
    """Predicts from a SavedModel folder written by `export_saved_model`.

    Args:
        path: the SavedModel version folder (`saved_models/atis/1`).

    Raises `keras_mtl.errors.ArtifactError` for a path that is not such a
    SavedModel (no `saved_model.pb`, no keras_mtl metadata, unloadable).

    Example:

    ```python
    client = SavedModelClient("saved_models/atis/1")
    client.predict(["show me flights to boston"])["slots"]["labels"]
    # [['O', 'O', 'O', 'O', 'B-toloc.city_name']]
    ```
    """

    def __init__(self, path):
        path = os.fspath(path)
        if artifacts.artifact_kind(path) != "saved_model":
            raise ArtifactError(
                f"{path} is not a SavedModel folder (it has no {artifacts.SAVED_MODEL_FILE}): "
                f"predict from it with `keras-mtl predict`, or export one with "
                f"{EXPORT_SAVED_MODEL}."
            )
        metadata = read_metadata(path)
        self.path = path
        self.tasks = metadata["tasks"]
        self.sequence_length = metadata["sequence_length"]
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (the tokenizer's ops)

        try:
            self._loaded = tf.saved_model.load(path)
        except Exception as error:  # TF raises several types for a broken SavedModel
            raise ArtifactError(
                f"{path}: TensorFlow cannot load this SavedModel ({artifacts.first_line(error)}). "
                f"Re-export it with {EXPORT_SAVED_MODEL}."
            ) from None
        self.signatures = self._loaded.signatures
        needed = ["serving_default"]
        if any(task.text_pair for task in self.tasks):
            needed.append("serve_text_pair")
        absent = [name for name in needed if name not in self.signatures]
        if absent:
            raise ArtifactError(
                f"{path} has no {', '.join(absent)} signature for its tasks: re-export it "
                f"with {EXPORT_SAVED_MODEL}."
            )

    def predict(self, texts, text_pairs=None, batch_size=32):
        """Per-task `{"labels", "scores"}` like `MultiTaskModel.predict` on text.

        Word-level tasks give one label per word of the first text (words as
        `keras_mtl.preprocessing.words.split_words` counts them), `None` for
        words cut off by truncation, with the Keras model's `TruncationWarning`.
        """
        texts, pairs = check_texts(texts, text_pairs, self.tasks)
        batch_size = check_batch_size(batch_size)
        results = empty_results(self.tasks, len(texts))
        num_words = [len(split_words(text)) for text in texts]
        kept = list(num_words)
        for start in range(0, len(texts), batch_size):
            stop = min(start + batch_size, len(texts))
            chunk = self._predict_batch(texts[start:stop], pairs[start:stop], num_words[start:stop])
            for name, (labels, scores) in chunk["tasks"].items():
                results[name]["labels"][start:stop] = labels
                results[name]["scores"][start:stop] = scores
            kept[start:stop] = chunk["kept_words"]
        warn_truncated(num_words, kept, self.sequence_length, stacklevel=2)
        return finish_results(self.tasks, results)

    def _predict_batch(self, texts, pairs, num_words):
        import tensorflow as tf

        has_pair = [p is not None for p in pairs]
        if any(has_pair):
            out = self.signatures["serve_text_pair"](
                text=tf.constant(texts, tf.string),
                text_pair=tf.constant([p or "" for p in pairs], tf.string),
            )
        else:
            out = self.signatures["serving_default"](text=tf.constant(texts, tf.string))
        out = {k: v.numpy() for k, v in out.items()}
        decoded = {}
        for task in self.tasks:
            prefix = f"{task.name}_"
            outputs = {k[len(prefix):]: v for k, v in out.items() if k.startswith(prefix)}
            labels, scores = task.task_type.from_serving(task, outputs, num_words)
            if task.text_pair:
                labels = [x if pair else None for x, pair in zip(labels, has_pair)]
                scores = [x if pair else None for x, pair in zip(scores, has_pair)]
            decoded[task.name] = (list(labels), list(scores))
        if "kept_words" in out:
            kept = [int(k) for k in out["kept_words"]]
        else:  # exported before `kept_words`: the words a word-level task labelled
            word_level = [decoded[t.name][0] for t in self.tasks if t.token_level]
            kept = [
                sum(x is not None for x in word_level[0][i]) if word_level else n
                for i, n in enumerate(num_words)
            ]
        return {"tasks": decoded, "kept_words": kept}
