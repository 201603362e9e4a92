"""The edge runtime (numpy + onnxruntime) against the Keras model and the TF graph."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_mtl.edge import EdgeModel, WordPieceTokenizer, length_groups
from keras_mtl.export import export_edge_bundle
from keras_mtl.preprocessing.words import split_words
from tests.conftest import TEXTS, VOCAB, tiny_model

HARD_TEXTS = [
    "Café naïve RÉSUMÉ",            # accents stripped, as the uncased checkpoint does
    "東京から大阪へ 飛行機",          # CJK: one piece per ideograph
    "fly ✈️ to boston 🙂",          # emoji and a variation selector
    "zero\u200bwidth soft\u00adhyphen",  # format characters are dropped
    "ﬁne Ｆｕｌｌｗｉｄｔｈ ß",        # no NFKC: ligature and fullwidth stay themselves
    "a" * 150 + " ok",               # > 100 characters -> [UNK]
    "tab\tand\u00a0nbsp, punct!?",   # NBSP separates words
    "\u0301 lone mark",              # a word that normalizes to nothing -> [UNK]
]


def graph_ids(model, texts):
    encoded = model.preprocessor.encode(texts)
    return [list(map(int, row)) for row in encoded["token_ids"].to_list()], [
        list(map(int, row)) for row in encoded["word_ids"].to_list()
    ]


def test_tokenizer_matches_the_graph_on_hard_unicode():
    model = tiny_model(sequence_length=32)
    tokenizer = WordPieceTokenizer(VOCAB, lowercase=True)
    edge_ids = []
    for text in TEXTS + HARD_TEXTS:
        ids = [tokenizer.cls_id]
        for word in split_words(text):
            ids += tokenizer.tokenize_word(word)
        edge_ids.append(ids[:31] + [tokenizer.sep_id])
    assert edge_ids == graph_ids(model, TEXTS + HARD_TEXTS)[0]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    model = tiny_model(sequence_length=24)
    path = str(tmp_path_factory.mktemp("edge") / "bundle")
    export_edge_bundle(model, path)
    return model, path


def test_edge_predictions_equal_keras(bundle):
    model, path = bundle
    edge = EdgeModel(path)
    texts = TEXTS + [t for t in HARD_TEXTS if t.strip()]
    for text in texts:
        token_ids, _, word_ids, _ = edge.encode(text)
        want_ids, want_words = graph_ids(model, [text])
        assert (token_ids, word_ids) == (want_ids[0], want_words[0])
    got = edge.predict(texts, batch_size=3)
    want = model.predict(texts)
    assert got["intent"]["labels"] == want["intent"]["labels"]
    assert got["slots"]["labels"] == want["slots"]["labels"]
    np.testing.assert_allclose(np.stack(got["intent"]["scores"]), want["intent"]["scores"], atol=1e-4)


def test_edge_runtime_imports_no_tensorflow_or_keras(bundle):
    _, path = bundle
    code = (
        "import json, sys\n"
        "from keras_mtl.edge import EdgeModel\n"
        f"out = EdgeModel({path!r}).predict(['show me flights to boston'])\n"
        "loaded = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]\n"
        "print(json.dumps({'loaded': loaded, 'slots': out['slots']['labels']}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"})
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["loaded"] == [] and len(report["slots"][0]) == 5


def test_edge_refuses_bad_input(bundle):
    _, path = bundle
    edge = EdgeModel(path)
    with pytest.raises(ValueError, match="Text 1 is empty"):
        edge.predict(["fly", "  "])
    with pytest.raises(ValueError, match="list of strings"):
        edge.predict("fly to boston")
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        EdgeModel(path, tokenizer="rust")


def test_both_tokenizers_predict_alike_in_any_batch_size(bundle):
    _, path = bundle
    texts = TEXTS + [t for t in HARD_TEXTS if t.strip()]
    python = EdgeModel(path, tokenizer="python").predict(texts, batch_size=32)
    for batch_size in (1, 4):
        fast = EdgeModel(path, tokenizer="fast").predict(texts, batch_size=batch_size)
        assert fast["slots"]["labels"] == python["slots"]["labels"]
        np.testing.assert_allclose(fast["intent"]["scores"], python["intent"]["scores"], atol=1e-5)


def test_length_groups_pad_least():
    import itertools

    def cost(lengths, groups, run_cost):
        return sum(len(g) * lengths[g[-1]] + run_cost for g in groups)

    rng = np.random.default_rng(0)
    for _ in range(20):
        lengths = sorted(rng.integers(3, 40, size=7).tolist())
        groups = length_groups(lengths, batch_size=3, run_cost=16)
        assert np.concatenate(groups).tolist() == list(range(7))
        assert max(len(g) for g in groups) <= 3
        # Every split of the sorted texts into runs of at most 3.
        best = min(
            cost(lengths, np.split(np.arange(7), cuts), 16)
            for k in range(7) for cuts in itertools.combinations(range(1, 7), k)
            if all(len(g) <= 3 for g in np.split(np.arange(7), cuts))
        )
        assert cost(lengths, groups, 16) == best
    assert length_groups([], batch_size=4) == []
