"""`BertWordPieceTokenizer`: Hugging Face's BERT tokenizer rules in TF ops.

keras_hub's `BertTokenizer` lowercases with NFKC case folding and keeps accents,
so an uncased Hugging Face checkpoint sees "[UNK]" for "café" or "Zürich", and
it splits on format characters that Hugging Face drops. This subclass keeps the
keras_hub layer (vocabulary assets, config, FastWordpiece) and replaces the text
rules with those of `BertTokenizerFast`, stated in `keras_mtl.preprocessing.words`:
the graph below builds its regular expressions and tables from the same
character tables as the pure-Python rules there.

Everything is core TensorFlow or TF Text, so the tokenizer runs eagerly, inside
`tf.function` and `tf.data`, on every Keras backend, and inside a TF SavedModel.
Op types outside core TensorFlow that its graph uses (`TF_TEXT_OPS`):
`FastWordpieceTokenizeWithOffsets`, `NormalizeUTF8`, `RegexSplitWithOffsets`.
"""

import functools
import json
import os

import keras
import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text
from keras_hub.src.utils.tensor_utils import preprocessing_function

from keras_mtl.preprocessing import words

TF_TEXT_OPS = (
    "FastWordpieceTokenizeWithOffsets",
    "NormalizeUTF8",
    "RegexSplitWithOffsets",
)

# A UTF-8 character is at most 4 bytes: FastWordpiece's byte limit must let
# every piece of `MAX_CHARS_PER_WORD` characters through, and the character
# limit is applied before it.
_MAX_BYTES_PER_WORD = 4 * words.MAX_CHARS_PER_WORD
_HF_VOCABULARY = "vocab.txt"
_HF_TOKENIZER_CONFIG = "tokenizer_config.json"


@functools.lru_cache(maxsize=None)
def _patterns():
    """RE2 classes of the character tables."""
    return {
        name: words.character_class(getattr(words, name), "re2")
        for name in ("CONTROL", "WHITESPACE", "CJK", "PUNCTUATION", "NONSPACING_MARKS")
    }


@functools.lru_cache(maxsize=None)
def _code_point_maps():
    """Sorted `(keys, values)` code point maps used around NFD and to lowercase.

    `protect` moves `NFD_PROTECTED` to private-use placeholders; `restore` moves
    them back; `lowercase` restores them and lowercases every character whose
    lowercase is one character (the one longer lowercase, "İ", is a regex).
    """
    protected = [code for a, b in words.NFD_PROTECTED for code in range(a, b + 1)]
    placeholders = [words.PROTECTED_PLACEHOLDER + i for i in range(len(protected))]
    # Every code point but the surrogates and "İ", lowercased as one string (about
    # 100 times faster than one call per character): `to_lowercase` has no context
    # rule, so the strings stay aligned unless a lowercase is longer than one.
    chars = "".join(chr(code) for code in range(0x110000)
                    if not 0xD800 <= code <= 0xDFFF and code != 0x130)
    lowered = words.to_lowercase(chars)
    if len(lowered) != len(chars):
        longer = next(c for c in chars if len(words.to_lowercase(c)) > 1)
        raise AssertionError(f"Unexpected multi-character lowercase of U+{ord(longer):04X}.")
    lowercase = {ord(a): ord(b) for a, b in zip(chars, lowered) if a != b}
    for placeholder, code in zip(placeholders, protected):
        lowercase[placeholder] = ord(words.to_lowercase(chr(code)))
    return {
        "protect": (protected, placeholders),
        "restore": (placeholders, protected),
        "lowercase": tuple(zip(*sorted(lowercase.items()))),
    }


def _map_code_points(text, table):
    """Replaces code points of a 1-D string tensor through a sorted table."""
    keys, values = _code_point_maps()[table]
    last = len(keys) - 1
    keys = tf.constant(keys, tf.int32)
    values = tf.constant(values, tf.int32)
    chars = tf.strings.unicode_decode(text, "UTF-8")
    codes = chars.flat_values
    index = tf.minimum(tf.searchsorted(keys, codes), last)
    found = tf.equal(tf.gather(keys, index), codes)
    codes = tf.where(found, tf.gather(values, index), codes)
    return tf.strings.unicode_encode(chars.with_flat_values(codes), "UTF-8")


def normalize(text, lowercase=True, strip_accents=None, split_on_cjk=True):
    """TF twin of `words.normalize` on a 1-D string tensor (BertNormalizer)."""
    if strip_accents is None:
        strip_accents = lowercase
    patterns = _patterns()
    text = tf.strings.regex_replace(text, patterns["CONTROL"], "")
    text = tf.strings.regex_replace(text, patterns["WHITESPACE"], " ")
    if split_on_cjk:
        text = tf.strings.regex_replace(text, patterns["CJK"], r" \0 ")
    if strip_accents:
        text = _map_code_points(text, "protect")
        text = tf_text.normalize_utf8(text, "NFD")
        text = tf.strings.regex_replace(text, patterns["NONSPACING_MARKS"], "")
    if lowercase:
        text = tf.strings.regex_replace(text, "\u0130", "i\u0307")
        return _map_code_points(text, "lowercase")
    if strip_accents:
        text = _map_code_points(text, "restore")
    return text


def _split_pieces(text):
    """TF twin of `words.split_pieces`: (n,) → ragged (n, pieces)."""
    patterns = _patterns()
    return tf_text.regex_split(
        text,
        delim_regex_pattern=f"{patterns['WHITESPACE']}|{patterns['PUNCTUATION']}",
        keep_delim_regex_pattern=patterns["PUNCTUATION"],
    )


def _pretokenize_flat(text, lowercase, strip_accents, split_on_cjk, special_pattern):
    if special_pattern is None:
        return _split_pieces(normalize(text, lowercase, strip_accents, split_on_cjk))
    # Special tokens are matched in the text as written, before normalization.
    segments = tf_text.regex_split(text, special_pattern, special_pattern)
    flat = segments.flat_values
    is_special = tf.strings.regex_full_match(flat, special_pattern)
    plain = tf.where(is_special, "", flat)
    pieces = _split_pieces(normalize(plain, lowercase, strip_accents, split_on_cjk))
    specials = tf.RaggedTensor.from_row_lengths(
        tf.boolean_mask(flat, is_special), tf.cast(is_special, tf.int64)
    )
    # Each segment is either plain (no special piece) or special (no plain piece).
    pieces = tf.concat([pieces, specials], axis=1)
    return segments.with_flat_values(pieces).merge_dims(-2, -1)


def pretokenize(text, lowercase=True, strip_accents=None, split_on_cjk=True,
                special_tokens=words.SPECIAL_TOKENS):
    """TF twin of `words.pretokenize`: strings (any shape) → ragged pieces.

    Adds one ragged dimension: `(batch,)` → `(batch, pieces)`, `(batch, words)`
    → `(batch, words, pieces)`.
    """
    special_pattern = words.special_tokens_pattern(special_tokens, "re2")
    if not isinstance(text, tf.RaggedTensor):
        text = tf.convert_to_tensor(text, tf.string)
        if text.shape.rank == 0:
            raise ValueError("pretokenize takes a batch of strings, not a scalar.")
        if text.shape.rank > 1:
            text = tf.RaggedTensor.from_tensor(text, ragged_rank=text.shape.rank - 1)
    flat = text.flat_values if isinstance(text, tf.RaggedTensor) else text
    pieces = _pretokenize_flat(flat, lowercase, strip_accents, split_on_cjk, special_pattern)
    if isinstance(text, tf.RaggedTensor):
        return text.with_flat_values(pieces)
    return pieces


@keras.saving.register_keras_serializable(package="keras_mtl")
class BertWordPieceTokenizer(keras_hub.models.BertTokenizer):
    """A keras_hub `BertTokenizer` with Hugging Face `BertTokenizerFast`'s rules.

    Gives the word pieces of a Hugging Face BERT checkpoint's own tokenizer:
    control and format characters dropped, Unicode whitespace (no-break space,
    ideographic space...) splits words, accents stripped with NFD when
    `strip_accents` (by default: when `lowercase`), lowercase per character,
    punctuation of every script split off, CJK ideographs one piece each,
    special tokens written in the text ("[MASK]") matched as such, and pieces
    of more than 100 characters are "[UNK]". The rules are listed in
    `keras_mtl.preprocessing.words`, which implements them in pure Python.

    Eager calls run the same TF ops as graphs (not keras_hub's pure-Python
    path), so eager calls, `tf.function`, `tf.data` and a SavedModel agree.
    Called on a ragged `(batch, words)` tensor it returns ragged `(batch, words,
    sub-words)` ids, like keras_hub's tokenizer.

    Args:
        vocabulary: list of tokens in id order, or a vocabulary file path.
        lowercase: lowercase the text (uncased checkpoints).
        strip_accents: NFD then drop non-spacing marks; `None` follows
            `lowercase`, as in Hugging Face (the attribute and the config hold
            the resolved bool).
        split_on_cjk: put CJK ideographs in pieces of their own
            (`tokenize_chinese_chars`).
        special_tokens_in_strings: match special tokens written in the text
            (default `True`, as Hugging Face does).
        **kwargs: other `keras_hub.models.BertTokenizer` arguments.

    Example:

    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cafe", "zurich", "!"]
    >>> tokenizer = BertWordPieceTokenizer(vocabulary=vocab)
    >>> tokenizer(["Café\\u00a0ZÜRICH!"])
    [[5, 6, 7]]
    """

    def __init__(self, vocabulary=None, lowercase=True, strip_accents=None, **kwargs):
        if not kwargs.get("split", True):
            raise ValueError(
                "BertWordPieceTokenizer always splits text like BertPreTokenizer; "
                "it does not take split=False."
            )
        kwargs.setdefault("special_tokens_in_strings", True)
        if strip_accents is None:
            # Resolved here, so that `tokenizer.strip_accents` is what it does.
            strip_accents = bool(lowercase)
        super().__init__(
            vocabulary=vocabulary, lowercase=lowercase, strip_accents=strip_accents, **kwargs
        )

    # === keras_hub hooks ===

    def _set_vocabulary_tf(self):
        self._fast_word_piece = tf_text.FastWordpieceTokenizer(
            vocab=self.vocabulary,
            suffix_indicator=self.suffix_indicator,
            max_bytes_per_word=_MAX_BYTES_PER_WORD,
            token_out_type=self.compute_dtype,
            unknown_token=self.oov_token,
            no_pretokenization=True,
            support_detokenization=True,
        )

    def _use_tf_workflow(self):
        # keras_hub's pure-Python path has other text rules; always use the graph.
        return True

    def _special_tokens_in_text(self):
        if not self.special_tokens_in_strings:
            return ()
        tokens = list(self.special_tokens) + [self.oov_token]
        return tuple(tokens + list(self._init_special_tokens or []))

    def pretokenize(self, inputs):
        """The pieces WordPiece sees: strings → ragged strings, one more dimension."""
        return pretokenize(
            inputs, self.lowercase, self.strip_accents, self.split_on_cjk,
            self._special_tokens_in_text(),
        )

    @preprocessing_function
    def _tokenize_tf(self, inputs):
        self._maybe_initialized_tf()
        if not isinstance(inputs, tf.RaggedTensor):
            inputs = tf.convert_to_tensor(inputs, tf.string)
        unbatched = inputs.shape.rank == 0
        if unbatched:
            inputs = inputs[tf.newaxis]
        pieces = self.pretokenize(inputs)
        values = pieces.flat_values
        too_long = tf.strings.length(values, unit="UTF8_CHAR") > words.MAX_CHARS_PER_WORD
        pieces = pieces.with_flat_values(tf.where(too_long, self.oov_token, values))
        tokens = self._fast_word_piece.tokenize(pieces).merge_dims(-2, -1)
        if self.sequence_length:
            output_shape = tokens.shape.as_list()
            output_shape[-1] = self.sequence_length
            tokens = tokens.to_tensor(shape=output_shape)
        if unbatched:
            tokens = tf.squeeze(tokens, 0)
        return tokens

    # === Config ===

    def get_config(self):
        config = super().get_config()
        config.update({"split_on_cjk": self.split_on_cjk})
        return config

    # === Presets ===

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """From a Hugging Face BERT folder, or any keras_hub BERT tokenizer preset.

        A folder with a `vocab.txt` is read as Hugging Face's: `do_lower_case`,
        `strip_accents` and `tokenize_chinese_chars` come from its
        `tokenizer_config.json` (Hugging Face's defaults: True, None, True).
        Anything else goes to `keras_hub.models.BertTokenizer.from_preset`; its
        vocabulary and `lowercase` are kept and accents follow `lowercase`, as
        in the original (Google) uncased BERT vocabularies.

        Args:
            preset: a local Hugging Face folder, or a keras_hub preset name,
                handle or folder.
            **kwargs: constructor arguments that override the preset's.
        """
        if os.path.isfile(os.path.join(str(preset), _HF_VOCABULARY)):
            return cls(**{**_hugging_face_arguments(preset), **kwargs})
        tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
        if isinstance(tokenizer, cls):
            if not kwargs:
                return tokenizer
            config = tokenizer.get_config()
        else:
            config = {"lowercase": tokenizer.lowercase, "strip_accents": None}
        config["vocabulary"] = tokenizer.get_vocabulary()
        return cls.from_config({**config, **kwargs})


def _hugging_face_arguments(folder):
    config = {}
    path = os.path.join(folder, _HF_TOKENIZER_CONFIG)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    with open(os.path.join(folder, _HF_VOCABULARY), encoding="utf-8") as f:
        vocabulary = [line.rstrip("\n").rstrip("\r") for line in f]
    while vocabulary and not vocabulary[-1]:
        vocabulary.pop()
    return {
        "vocabulary": vocabulary,
        "lowercase": bool(config.get("do_lower_case", True)),
        "strip_accents": config.get("strip_accents"),
        "split_on_cjk": bool(config.get("tokenize_chinese_chars", True)),
    }
