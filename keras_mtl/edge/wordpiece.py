"""A pure-Python BERT WordPiece tokenizer that matches the model's TF Text graph.

It reproduces, step by step, what the preprocessor's graph does to each
whitespace word (keras_hub's `BertTokenizer` on TF Text ops):

1. split on delimiters with RE2 semantics: `[ \\t\\n\\r\\f]`, control (Cc) and
   format (Cf) characters, punctuation (the ASCII symbol ranges and Unicode P*)
   and CJK ideographs; punctuation and CJK characters are kept as pieces;
2. lowercase with NFKC_Casefold (NFKC, full case folding, NFKC again, default
   ignorable code points removed), like `tf_text.case_fold_utf8`;
3. greedy longest-match-first WordPiece with `##` continuations; a piece longer
   than 100 UTF-8 bytes, or one that cannot be matched, becomes `[UNK]`.

A word that yields no sub-word at all becomes `[UNK]`, as in the preprocessor.
Only the standard library is used.
"""

import unicodedata

_ASCII_SPACES = frozenset(" \t\n\r\f")
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
_DEFAULT_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _in(ranges, char):
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def _is_punctuation(char):
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_kept_delimiter(char):
    return _is_punctuation(char) or _in(_CJK_RANGES, char)


def _is_delimiter(char):
    return (
        char in _ASCII_SPACES
        or unicodedata.category(char) in ("Cc", "Cf")
        or _is_kept_delimiter(char)
    )


def case_fold(text):
    """NFKC_Casefold, as `tf_text.case_fold_utf8` applies it."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in text if not _in(_DEFAULT_IGNORABLE_RANGES, c))


def split_pieces(word):
    """A word split on punctuation, CJK, control and format characters."""
    pieces, current = [], []
    for char in word:
        if _is_delimiter(char):
            if current:
                pieces.append("".join(current))
                current = []
            if _is_kept_delimiter(char):
                pieces.append(char)
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


class WordPieceTokenizer:
    """BERT WordPiece over a vocabulary list; `tokenize_word` gives sub-word ids.

    Args:
        vocabulary: tokens in id order.
        lowercase: apply `case_fold` (uncased checkpoints).
        max_bytes_per_word: longer pieces become `[UNK]`.

    Example:

    >>> tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "fly", "##ing", ","])
    >>> tok.tokenize_word("Flying,")
    [4, 5, 6]
    """

    def __init__(self, vocabulary, lowercase=True, max_bytes_per_word=100,
                 suffix_indicator="##", unknown_token="[UNK]"):
        self.vocabulary = list(vocabulary)
        self.ids = {token: i for i, token in enumerate(self.vocabulary)}
        for token in ("[PAD]", "[CLS]", "[SEP]", unknown_token):
            if token not in self.ids:
                raise ValueError(f"The vocabulary has no {token} token.")
        self.lowercase = lowercase
        self.max_bytes_per_word = max_bytes_per_word
        self.suffix_indicator = suffix_indicator
        self.unk_id = self.ids[unknown_token]
        self.pad_id, self.cls_id, self.sep_id = (self.ids[t] for t in ("[PAD]", "[CLS]", "[SEP]"))

    def _wordpiece(self, piece):
        if len(piece.encode("utf-8")) > self.max_bytes_per_word:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(piece):
            end, found = len(piece), None
            while start < end:
                candidate = piece[start:end]
                if start > 0:
                    candidate = self.suffix_indicator + candidate
                found = self.ids.get(candidate)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids

    def tokenize_word(self, word):
        """Sub-word ids of one whitespace word (`[UNK]` if it yields none)."""
        ids = []
        for piece in split_pieces(word):
            if self.lowercase:
                piece = case_fold(piece)
            if piece:
                ids.extend(self._wordpiece(piece))
        return ids or [self.unk_id]
