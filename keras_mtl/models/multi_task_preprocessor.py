"""`MultiTaskPreprocessor`: raw text (+ word labels) → packed BERT inputs (+ targets)."""

import keras
import keras_hub
import tensorflow as tf
from keras_hub.src.utils.tensor_utils import preprocessing_function

from keras_mtl.decoding import decode_batch
from keras_mtl.preprocessing import alignment
from keras_mtl.tasks import MISSING_ID, check_task_list


@keras.saving.register_keras_serializable(package="keras_mtl")
class MultiTaskPreprocessor(keras_hub.models.Preprocessor):
    """Tokenizes texts, aligns word labels with sub-words and packs BERT inputs.

    Maps `(x, y, sample_weight)` like every keras_hub preprocessor, so it can sit in
    a `tf.data` pipeline on any backend:

    * `x`: a batch of strings. Words are whitespace-separated; token-level labels
      are given per word.
    * `y`: a dict keyed by task name. Classification: int ids (`-1` = no label);
      token classification: a ragged (batch, words) int tensor of per-word ids;
      multi-label: multi-hot floats (all `-1` = no label); regression: floats of
      shape (batch, 1) (NaN = no label).
    * returns `x` as `{"token_ids", "segment_ids", "padding_mask"}`, `y` with token
      labels moved onto first sub-words, and `sample_weight` per task: 1 where a
      target counts, 0 on padding, on non-first sub-words and on missing labels.

    Texts longer than `sequence_length` sub-words are cut at the end; the words cut
    off get no prediction and no loss.

    Args:
        tokenizer: a `keras_hub.models.BertTokenizer` (or any WordPiece tokenizer
            mapping a ragged batch of words to ragged sub-word ids).
        tasks: the model's `TaskSpec`s.
        sequence_length: maximum packed length, [CLS] and [SEP] included.

    Example:

    >>> pre = MultiTaskPreprocessor(tokenizer, tasks, sequence_length=32)
    >>> x, y, sw = pre(["book a flight to boston"], y={"intent": [3]})
    """

    def __init__(self, tokenizer, tasks, sequence_length=128, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        self.tokenizer = tokenizer
        # === Config ===
        self.tasks = check_task_list(tasks)
        if int(sequence_length) < 3:
            raise ValueError(f"sequence_length must be >= 3, got {sequence_length}.")
        self.sequence_length = int(sequence_length)
        self._graph_encode = None

    # --- Token ids of the special tokens ---
    @property
    def pad_id(self):
        return self.tokenizer.pad_token_id

    def _special_ids(self):
        tok = self.tokenizer
        return tok.cls_token_id, tok.sep_token_id, tok.token_to_id("[UNK]")

    # --- Encoding: ragged, unpadded ---
    def encode(self, text, y=None):
        """Tokenizes a batch of texts and aligns labels; ragged, unpadded outputs.

        Returns a dict with ragged (batch, sub-words) `token_ids` and `word_ids`
        ([CLS] and [SEP] included, truncated to `sequence_length`), `num_words`
        (words in each text before truncation) and `labels`: targets per task
        (ragged, sub-word aligned for token tasks).
        """
        if tf.executing_eagerly():
            # keras_hub tokenizers take a pure-Python path when called eagerly;
            # graph mode gives the TF ops that tf.data and SavedModel use. Inputs
            # become tensors first: a Python list would retrace on every call.
            if self._graph_encode is None:
                self._graph_encode = tf.function(self._encode, reduce_retracing=True)
            text = tf.convert_to_tensor(text, tf.string)
            if y is not None:
                y = {k: _as_tensor(v) for k, v in y.items()}
            return self._graph_encode(text, y)
        return self._encode(text, y)

    def _encode(self, text, y=None):
        text = tf.convert_to_tensor(text, tf.string)
        if text.shape.rank == 0:
            text = text[tf.newaxis]
        cls_id, sep_id, unk_id = self._special_ids()
        words = alignment.split_words(text)
        subwords = alignment.tokenize_words(self.tokenizer, words, unk_id)
        y = dict(y or {})
        unknown = sorted(set(y) - {spec.name for spec in self.tasks})
        if unknown:
            raise ValueError(
                f"Labels given for unknown task(s) {unknown}; the tasks are "
                f"{[spec.name for spec in self.tasks]}."
            )
        word_labels = {}
        for spec in self.tasks:
            if spec.token_level and spec.name in y:
                tags = y[spec.name]
                if not isinstance(tags, tf.RaggedTensor):
                    tags = tf.RaggedTensor.from_tensor(
                        tf.convert_to_tensor(tags), padding=MISSING_ID
                    )
                word_labels[spec.name] = tags
        token_ids, word_ids, aligned = alignment.align(subwords, word_labels)
        length = self.sequence_length
        encoded = {
            "token_ids": alignment.add_special_tokens(
                tf.cast(token_ids, tf.int32), cls_id, sep_id, length
            ),
            "word_ids": alignment.add_special_tokens(
                tf.cast(word_ids, tf.int32), MISSING_ID, MISSING_ID, length
            ),
            "num_words": tf.cast(words.row_lengths(), tf.int32),
            "labels": {},
        }
        for spec in self.tasks:
            if spec.name not in y:
                continue
            if spec.token_level:
                encoded["labels"][spec.name] = alignment.add_special_tokens(
                    tf.cast(aligned[spec.name], tf.int32), MISSING_ID, MISSING_ID, length
                )
            else:
                encoded["labels"][spec.name] = self._sentence_target(spec, y[spec.name])
        return encoded

    @staticmethod
    def _sentence_target(spec, target):
        if spec.type == "classification":
            return tf.cast(tf.convert_to_tensor(target), tf.int32)
        target = tf.cast(tf.convert_to_tensor(target), tf.float32)
        if spec.type == "regression" and target.shape.rank == 1:
            target = target[:, tf.newaxis]
        return target

    @staticmethod
    def count_truncated(encoded):
        """How many texts of an `encode()` output lost words to the sequence length."""
        kept = tf.reduce_sum(tf.cast(encoded["word_ids"] >= 0, tf.int32), axis=1)
        return int(tf.reduce_sum(tf.cast(kept < encoded["num_words"], tf.int32)))

    # --- Packing: dense, padded ---
    def pack(self, encoded, length=None, sample_weight=None):
        """Pads `encode()` outputs to `length` (default: longest row) → `(x, y, sw)`."""

        def dense(tensor, value):
            if not isinstance(tensor, tf.RaggedTensor):
                return tensor
            if isinstance(length, int):
                return tensor.to_tensor(value, shape=[None, length])
            if length is not None:  # a length tensor (one per batch in a mixture)
                shape = tf.stack([tensor.nrows(), tf.cast(length, tensor.row_splits.dtype)])
                return tensor.to_tensor(value, shape=shape)
            # The longest row, and never less than [CLS] [SEP]: an empty batch
            # still gets a valid (0, 2) shape.
            tensor = tensor.to_tensor(value)
            extra = tf.maximum(0, 2 - tf.shape(tensor)[1])
            return tf.pad(tensor, [[0, 0], [0, extra]], constant_values=value)

        token_ids = dense(encoded["token_ids"], self.pad_id)
        padding_mask = tf.cast(tf.not_equal(token_ids, self.pad_id), tf.int32)
        x = {
            "token_ids": token_ids,
            "segment_ids": tf.zeros_like(token_ids),
            "padding_mask": padding_mask,
        }
        labels = encoded.get("labels") or {}
        if not labels:
            return x, None, None
        y, weights = {}, {}
        for spec in self.tasks:
            if spec.name in labels:
                target = labels[spec.name]
                if spec.token_level:
                    target = dense(target, MISSING_ID)
                y[spec.name] = target
                weight = spec.task_type.label_present(target, xp=tf)
                if sample_weight is not None and spec.name in sample_weight:
                    extra = tf.cast(sample_weight[spec.name], tf.float32)
                    if spec.token_level and extra.shape.rank == 1:
                        extra = extra[:, tf.newaxis]
                    weight = weight * extra
                weights[spec.name] = weight
        return x, y, weights

    def __call__(self, x, y=None, sample_weight=None, **kwargs):
        # Keras refuses nested arguments that mix tensors and arrays (e.g. numpy
        # intent ids beside ragged slot tags): make every value a TF tensor first.
        def convert(value):
            if isinstance(value, dict):
                return {k: _as_tensor(v) for k, v in value.items()}
            return _as_tensor(value)

        return super().__call__(
            convert(x), y=convert(y), sample_weight=convert(sample_weight), **kwargs
        )

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        encoded = self.encode(x, y)
        x, y, sample_weight = self.pack(
            encoded, length=self.sequence_length, sample_weight=sample_weight
        )
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    # --- Decoding ---
    def decode(self, scores, word_ids, num_words):
        """Per-task labels and scores from model outputs (numpy), words re-joined.

        See `keras_mtl.decoding.decode_batch`: token tasks give one label per
        word (`None` for words cut off by truncation).
        """
        return decode_batch(self.tasks, scores, word_ids, num_words)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tasks": [spec.get_config() for spec in self.tasks],
                "sequence_length": self.sequence_length,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("tokenizer"), dict):
            config["tokenizer"] = keras.layers.deserialize(config["tokenizer"])
        return cls(**config)


def _as_tensor(value):
    """A TF tensor (ragged for per-word labels of unequal lengths), or None."""
    if value is None or isinstance(value, (tf.Tensor, tf.RaggedTensor)):
        return value
    try:
        return tf.convert_to_tensor(value)
    except (ValueError, TypeError):
        return tf.ragged.constant(value)
