"""A pure-Python BERT WordPiece tokenizer that matches the model's TF graph.

It applies to each whitespace word the rules of the checkpoint's tokenizer
(Hugging Face `BertTokenizerFast`), which the preprocessor's graph
(`keras_mtl.preprocessing.BertWordPieceTokenizer`) also follows; the rules and
their character tables live in `keras_mtl.preprocessing.words`:

1. special tokens written in the word ("[MASK]") are matched first, as is;
2. control and format characters are dropped, CJK ideographs become pieces of
   their own; with `strip_accents` (default: same as `lowercase`), NFD then
   non-spacing marks dropped; with `lowercase`, per-character lowercase;
3. punctuation of every script is split off as pieces of its own;
4. greedy longest-match-first WordPiece with `##` continuations; a piece of
   more than 100 characters, or one that cannot be matched, becomes `[UNK]`.

A word that yields no sub-word at all becomes `[UNK]`, as in the preprocessor.
Only the standard library is used.
"""

from keras_mtl.preprocessing import words


class WordPieceTokenizer:
    """BERT WordPiece over a vocabulary list; `tokenize_word` gives sub-word ids.

    Args:
        vocabulary: tokens in id order.
        lowercase: lowercase the text (uncased checkpoints).
        strip_accents: drop accents after NFD; `None` follows `lowercase`.
        split_on_cjk: put each CJK ideograph in a piece of its own.
        max_chars_per_word: longer pieces become `[UNK]`.
        suffix_indicator: prefix of continuation pieces.
        unknown_token: the `[UNK]` token.
        special_tokens: tokens matched as written in a word (those of them in
            the vocabulary); `()` turns matching off.

    Example:

    >>> tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "fly", "##ing", ",", "cafe"])
    >>> tok.tokenize_word("Flying,")
    [4, 5, 6]
    >>> tok.tokenize_word("Café")
    [7]
    """

    def __init__(self, vocabulary, lowercase=True, strip_accents=None, split_on_cjk=True,
                 max_chars_per_word=words.MAX_CHARS_PER_WORD, suffix_indicator="##",
                 unknown_token="[UNK]", special_tokens=words.SPECIAL_TOKENS):
        self.vocabulary = list(vocabulary)
        self.ids = {token: i for i, token in enumerate(self.vocabulary)}
        for token in ("[PAD]", "[CLS]", "[SEP]", unknown_token):
            if token not in self.ids:
                raise ValueError(f"The vocabulary has no {token} token.")
        self.lowercase = lowercase
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.split_on_cjk = split_on_cjk
        self.max_chars_per_word = max_chars_per_word
        self.suffix_indicator = suffix_indicator
        self.special_tokens = tuple(t for t in special_tokens if t in self.ids)
        self.unk_id = self.ids[unknown_token]
        self.pad_id, self.cls_id, self.sep_id = (self.ids[t] for t in ("[PAD]", "[CLS]", "[SEP]"))

    def tokenize_word(self, word):
        """Sub-word ids of one whitespace word (`[UNK]` if it yields none)."""
        ids = []
        pieces = words.pretokenize(
            word, self.lowercase, self.strip_accents, self.split_on_cjk, self.special_tokens
        )
        for piece in pieces:
            ids.extend(words.wordpiece(
                piece, self.ids, self.unk_id, self.suffix_indicator, self.max_chars_per_word
            ))
        return ids or [self.unk_id]
