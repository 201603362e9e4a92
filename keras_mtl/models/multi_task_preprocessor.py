"""`MultiTaskPreprocessor`: raw text (+ word labels) → packed BERT inputs (+ targets)."""

import functools

import keras
import keras_hub
import tensorflow as tf
from keras_hub.src.utils.tensor_utils import preprocessing_function

from keras_mtl.checks import check_known_tasks
from keras_mtl.decoding import decode_batch
from keras_mtl.errors import InputError
from keras_mtl.preprocessing import alignment, packing
from keras_mtl.preprocessing.bert_tokenizer import BertWordPieceTokenizer  # noqa: F401  (for loading)
from keras_mtl.tasks import MISSING_ID, check_task_list


@keras.saving.register_keras_serializable(package="keras_mtl")
class MultiTaskPreprocessor(keras_hub.models.Preprocessor):
    """Tokenizes texts (and text pairs), aligns word labels with sub-words, packs BERT inputs.

    Maps `(x, y, sample_weight)` like every keras_hub preprocessor, so it can sit in
    a `tf.data` pipeline on any backend:

    * `x`: a batch of strings, or a `(texts, pairs)` tuple for text pairs (an
      empty pair string: no second text). Words are split on whitespace;
      word-level labels are given per word of the first text.
    * `y`: a dict keyed by task name holding each task type's targets
      (`TaskType.encode`): class ids (`-1` = no label), ragged (batch, words)
      per-word ids, multi-hot floats, floats (NaN = no label), per-word
      (head, relation) pairs.
    * returns `x` as `{"token_ids", "segment_ids", "padding_mask"}`, `y` with word
      labels moved onto first sub-words, and `sample_weight` per task: 1 where a
      target counts, 0 on padding, on non-first sub-words and on missing labels.

    A single text is packed `[CLS] a [SEP]`, a pair `[CLS] a [SEP] b [SEP]`
    (segment ids 0 then 1); when too long, the longer text is trimmed first
    (`keras_mtl.preprocessing.truncation`). Words cut off get no prediction and no loss.

    Args:
        tokenizer: a `keras_mtl.preprocessing.BertWordPieceTokenizer` (the
            checkpoint's own tokenization), or any WordPiece tokenizer mapping a
            ragged batch of words to ragged sub-word ids.
        tasks: the model's `TaskSpec`s.
        sequence_length: maximum packed length, special tokens included.

    Example:

    >>> from keras_mtl import TaskSpec
    >>> from keras_mtl.preprocessing import BertWordPieceTokenizer
    >>> tokenizer = BertWordPieceTokenizer(vocabulary=[
    ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "book", "a", "flight", "to", "boston"])
    >>> intent = TaskSpec("intent", "classification", labels=["fare", "flight"])
    >>> pre = MultiTaskPreprocessor(tokenizer, [intent], sequence_length=8)
    >>> x, y, sample_weight = pre(["book a flight to boston"], y={"intent": [1]})
    >>> keras.ops.convert_to_numpy(x["token_ids"]).tolist()
    [[2, 5, 6, 7, 8, 9, 3, 0]]
    """

    def __init__(self, tokenizer, tasks, sequence_length=128, **kwargs):
        super().__init__(**kwargs)
        # Nothing to build (no weights). Left unbuilt, this layer, a sublayer of the
        # model it preprocesses for, would make Keras trace the whole model
        # symbolically again before every `train_on_batch` / `test_on_batch` (Keras
        # checks that every layer is built): a third of a PyTorch training step.
        self.built = True
        # === Layers ===
        self.tokenizer = tokenizer
        # === Config ===
        self.tasks = check_task_list(tasks)
        if int(sequence_length) < 4:
            raise ValueError(f"sequence_length must be >= 4, got {sequence_length}.")
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
    def encode(self, text, y=None, text_pair=None):
        """Tokenizes a batch of texts (and pairs) and aligns labels; ragged outputs.

        Returns a dict with ragged (batch, sub-words) `token_ids`, `segment_ids`
        and `word_ids` (special tokens included, truncated to `sequence_length`),
        `num_words` (words of the first text before truncation), `has_pair` and
        `labels`: targets per task (ragged, sub-word aligned for word-level tasks).
        """
        if tf.executing_eagerly():
            # keras_hub tokenizers take a pure-Python path when called eagerly;
            # graph mode gives the TF ops that tf.data and SavedModel use. Inputs
            # become tensors first: a Python list would retrace on every call.
            if self._graph_encode is None:
                self._graph_encode = tf.function(
                    self._encode, reduce_retracing=True, autograph=False)
            text = tf.convert_to_tensor(text, tf.string)
            if text_pair is not None:
                text_pair = tf.convert_to_tensor(text_pair, tf.string)
            if y is not None:
                y = {k: _as_tensor(v) for k, v in y.items()}
            return self._graph_encode(text, y, text_pair)
        return self._encode(text, y, text_pair)

    def _subwords(self, text, unk_id):
        words = alignment.split_words(text)
        return words, alignment.tokenize_words(self.tokenizer, words, unk_id)

    def _encode(self, text, y=None, text_pair=None):
        text = tf.convert_to_tensor(text, tf.string)
        if text.shape.rank == 0:
            text = text[tf.newaxis]
        cls_id, sep_id, unk_id = self._special_ids()
        words, subwords = self._subwords(text, unk_id)
        if text_pair is None:  # single texts: no second segment to tokenize
            pair_ids = subwords.merge_dims(1, 2)[:, :0]
        else:
            text_pair = tf.reshape(tf.convert_to_tensor(text_pair, tf.string), [-1])
            pair_ids = self._subwords(text_pair, unk_id)[1].merge_dims(1, 2)
        y = dict(y or {})
        check_known_tasks(y, [spec.name for spec in self.tasks], "Labels given for",
                          error=InputError)
        length_a = tf.reduce_sum(subwords.row_lengths(axis=2), axis=1)
        keep_a, keep_b = packing.segment_lengths(
            length_a, pair_ids.row_lengths(), self.sequence_length
        )
        aligned = packing.WordAlignment(subwords, keep_a)
        pack = functools.partial(packing.pack_rows, keep_a=keep_a, keep_b=keep_b)
        encoded = {
            "token_ids": tf.cast(
                pack(aligned.token_ids, start=cls_id, end=sep_id, second=pair_ids), tf.int32
            ),
            "segment_ids": packing.segment_ids(keep_a, keep_b),
            "word_ids": tf.cast(
                pack(aligned.word_ids, start=MISSING_ID, end=MISSING_ID), tf.int32
            ),
            "num_words": tf.cast(words.row_lengths(), tf.int32),
            "has_pair": pair_ids.row_lengths() > 0,
            "labels": {},
        }
        for spec in self.tasks:
            if spec.name not in y:
                continue
            target = y[spec.name]
            task_type = spec.task_type
            if spec.token_level:
                if not isinstance(target, tf.RaggedTensor):
                    target = tf.RaggedTensor.from_tensor(
                        tf.convert_to_tensor(target), padding=MISSING_ID
                    )
                tf.debugging.assert_equal(
                    target.row_lengths(), words.row_lengths(),
                    message=f"Task '{spec.name}': the number of word labels differs "
                    "from the number of words in a text.",
                )
                target = task_type.align_targets(spec, target, aligned)
                target = pack(target, start=MISSING_ID, end=MISSING_ID)
                encoded["labels"][spec.name] = tf.cast(target, task_type.target_dtype)
            else:
                encoded["labels"][spec.name] = task_type.batch_target(
                    spec, tf.convert_to_tensor(target)
                )
        return encoded

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
            inner = tensor.shape[2:].as_list()  # (head, relation) pairs: [2]
            if isinstance(length, int):
                return tensor.to_tensor(value, shape=[None, length] + inner)
            if length is not None:  # a length tensor (one per batch in a mixture)
                dtype = tensor.row_splits.dtype
                shape = tf.concat(
                    [tf.stack([tensor.nrows(), tf.cast(length, dtype)]),
                     tf.constant(inner, dtype)], axis=0,
                )
                return tensor.to_tensor(value, shape=shape)
            # The longest row, and never less than [CLS] [SEP]: an empty batch
            # still gets a valid (0, 2) shape.
            tensor = tensor.to_tensor(value)
            extra = tf.maximum(0, 2 - tf.shape(tensor)[1])
            padding = [[0, 0], [0, extra]] + [[0, 0]] * len(inner)
            return tf.pad(tensor, padding, constant_values=value)

        token_ids = encoded["token_ids"]
        # The mask comes from the rows' lengths, not from the pad id: a text that
        # spells out "[PAD]" gets that token, attended to, as in Hugging Face.
        if isinstance(token_ids, tf.RaggedTensor):
            padding_mask = dense(tf.ones_like(token_ids), 0)
        elif "padding_mask" in encoded:
            padding_mask = encoded["padding_mask"]
        else:
            padding_mask = tf.cast(tf.not_equal(token_ids, self.pad_id), tf.int32)
        token_ids = dense(token_ids, self.pad_id)
        segments = encoded.get("segment_ids")
        x = {
            "token_ids": token_ids,
            "segment_ids": tf.zeros_like(token_ids) if segments is None else dense(segments, 0),
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
            if isinstance(value, tuple):  # (texts, pairs)
                return tuple(_as_tensor(v) for v in value)
            return _as_tensor(value)

        return super().__call__(
            convert(x), y=convert(y), sample_weight=convert(sample_weight), **kwargs
        )

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        text_pair = None
        if isinstance(x, tuple):
            x, text_pair = x
        encoded = self.encode(x, y, text_pair=text_pair)
        x, y, sample_weight = self.pack(
            encoded, length=self.sequence_length, sample_weight=sample_weight
        )
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    # --- Decoding ---
    def decode(self, scores, word_ids, num_words, has_pair=None):
        """Per-task labels and scores from model outputs (numpy), words re-joined.

        See `keras_mtl.decoding.decode_batch`: word-level tasks give one label per
        word (`None` for words cut off by truncation); text-pair tasks give `None`
        for examples without a second text.
        """
        return decode_batch(self.tasks, scores, word_ids, num_words, has_pair)

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
