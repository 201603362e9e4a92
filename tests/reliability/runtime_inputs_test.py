"""Bad runtime inputs and bad artefacts give typed, one-line errors; the Keras model,
the SavedModel client and the edge runtime truncate, warn and refuse alike."""

import json
import os
import warnings

import keras
import numpy as np
import pytest

from keras_mtl import MultiTaskModel, cli
from keras_mtl.artifacts import artifact_kind
from keras_mtl.edge import EdgeModel
from keras_mtl.errors import ArtifactError, InputError
from keras_mtl.models import load_model
from keras_mtl.preprocessing.text_inputs import check_texts
from keras_mtl.preprocessing.truncation import TruncationWarning
from tests.conftest import TEXTS, VOCAB, tiny_model, tiny_tasks

# 30 one-sub-word words; sequence_length=16 keeps 14 of them ([CLS] + 14 + [SEP]).
LONG = " ".join(["show", "me", "flights"] * 10)
TRUNCATION_MESSAGE = (
    "1 of 2 text(s) (index 1) longer than sequence_length=16 sub-words were truncated; "
    "their cut-off words are labelled None (sentence-level tasks see the kept part only)."
)

BAD_TEXTS = [
    (["ok", None], "Text 1 is None, not a string"),
    (["ok", float("nan")], r"Text 1 is a float \(nan\), not a string"),
    (["ok", 3], r"Text 1 is an int \(3\), not a string"),
    ([["ok"]], r"Text 0 is a list \(\['ok'\]\), not a string"),
    (["ok", ("a", "b", "c")], "Text 1 is a tuple"),
    ([b"\xff\xfe"], r"Text 0 is not valid UTF-8 \(byte 0xff at position 0\)"),
    (["ok", " \t "], "Text 1 is empty"),
    (["\u200b\x00"], r"Text 0 has no words \(only control or format characters\)"),
    ("show me", "not one string"),
    (None, "must be a list of strings.*got None"),
    ({"show": 1}, "got a dict"),
    (np.array([["a", "b"]]), r"one-dimensional.*shape \(1, 2\)"),
    (["ok", ("a", "b")], "Text 1 has a second text, but no task of this model"),
]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return tiny_model(sequence_length=16)


@pytest.mark.parametrize("texts, message", BAD_TEXTS)
def test_bad_texts_are_input_errors_naming_the_example(model, texts, message):
    with pytest.raises(InputError, match=message):
        model.predict(texts)
    with pytest.raises(InputError, match=message):
        model.predict_text(texts)


def test_bad_pairs_and_batch_sizes(model):
    with pytest.raises(InputError, match="1 second texts for 2 texts"):
        check_texts(["a", "b"], ["c"], [])
    with pytest.raises(InputError, match=r"Text 0 is a \(text, second_text\) tuple and text_"):
        check_texts([("a", "b")], ["c"], [])
    assert check_texts(["a", "b"], ["c", " "], []) == (["a", "b"], ["c", None])
    assert check_texts(np.array(["a b", "c"]), None, []) == (["a b", "c"], [None, None])
    assert check_texts([b"caf\xc3\xa9"], None, []) == (["café"], [None])
    with pytest.raises(InputError, match="batch_size must be an integer >= 1, got 0"):
        model.predict_text(["show me"], batch_size=0)


def test_an_empty_list_gives_empty_predictions(model):
    empty = {"intent": {"labels": [], "scores": []}, "slots": {"labels": [], "scores": []}}
    assert model.predict([]) == empty
    assert model.predict_text([]) == empty
    assert model.predict(np.array([], dtype=str)) == empty


def test_a_numpy_array_of_strings_predicts_like_a_list(model):
    got = model.predict(np.array(TEXTS[:2]))
    want = model.predict(TEXTS[:2])
    assert got["slots"]["labels"] == want["slots"]["labels"]
    np.testing.assert_allclose(got["intent"]["scores"], want["intent"]["scores"], atol=1e-6)


def test_keras_labels_cut_off_words_none_and_warns(model):
    with pytest.warns(TruncationWarning) as caught:
        out = model.predict(["show me flights to boston", LONG])
    messages = [str(w.message) for w in caught if w.category is TruncationWarning]
    assert messages == [TRUNCATION_MESSAGE]
    tags = out["slots"]["labels"][1]
    assert len(tags) == 30 and tags[14:] == [None] * 16 and None not in tags[:14]
    assert len(out["slots"]["scores"][1]) == 14
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        model.predict(TEXTS)  # nothing cut: no warning


def test_a_dict_without_the_packed_inputs_is_refused(model):
    with pytest.raises(InputError, match="dict of packed inputs with keys"):
        model.predict({"text": ["show me"]})


def test_class_ids_outside_the_label_set_are_refused_before_the_backend(model):
    model.compile()
    x, _, _ = model.preprocessor.pack(model.preprocessor.encode(TEXTS))
    x = {k: np.asarray(v) for k, v in x.items()}
    slots = np.where(x["token_ids"] > 0, 0, -1)
    ok = {"intent": np.array([0, 1, -1, 0]), "slots": slots}
    with pytest.raises(InputError, match=r"y\['intent'\]: example 2 has class id 5; task "
                                         r"'intent' has 2 labels, so ids must be integers in 0..1"):
        model.fit(x, {**ok, "intent": np.array([0, 1, 5, 0])}, verbose=0)
    with pytest.raises(InputError, match="example 1 has class id -3"):
        model.evaluate(x, {**ok, "intent": np.array([0, -3, 1, 0])}, verbose=0)
    bad_slots = slots.copy()
    bad_slots[3, 2] = 9
    with pytest.raises(InputError, match=r"example 3, position 2 has class id 9; task 'slots'"):
        model.train_on_batch(x, {**ok, "slots": bad_slots})
    with pytest.raises(InputError, match=r"validation_data\['intent'\]: example 0 has class id 2"):
        model.fit(x, ok, validation_data=(x, {**ok, "intent": np.array([2, 0, 0, 0])}), verbose=0)
    with pytest.raises(InputError, match="holds label names"):
        model.evaluate(x, {**ok, "intent": np.array(["atis_flight"] * 4)}, verbose=0)
    model.evaluate(x, ok, verbose=0)  # -1 is the missing-label marker


# === Artefacts ===
def _bundle(folder, drop=(), config=None, onnx=b"not an onnx graph"):
    """An edge bundle written by hand (no export): enough for the checks that come
    before onnxruntime reads the graph."""
    os.makedirs(folder)
    files = {
        "bundle.json": json.dumps(config if config is not None else {
            "format": 2, "model": "model.onnx", "quantize": None,
            "tokenizer": {"lowercase": True, "strip_accents": True},
            "sequence_length": 16, "tasks": [spec.describe() for spec in tiny_tasks()],
        }),
        "vocab.txt": "\n".join(VOCAB) + "\n",
        "model.onnx": onnx,
    }
    for name, content in files.items():
        if name not in drop:
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(folder, name), mode) as f:
                f.write(content)
    return str(folder)


@pytest.mark.parametrize("drop, config, message", [
    (("model.onnx",), None, "model.onnx is missing: the edge bundle is incomplete"),
    (("vocab.txt",), None, "vocab.txt is missing: the edge bundle is incomplete"),
    (("bundle.json",), None, "incomplete edge bundle: it has model.onnx, vocab.txt but no bundle"),
    ((), [1, 2], "bundle.json holds a JSON list, not an object"),
    ((), {"format": 3}, "bundle.json: format 3 is newer than this keras_mtl reads \\(2\\)"),
    ((), {"format": 1}, "bundle.json: format 1; this keras_mtl reads format 2. Re-export"),
    ((), {"format": 2, "model": "model.onnx"}, "has no tokenizer, sequence_length, tasks"),
    ((), None, "model.onnx is not a valid ONNX model"),
])
def test_a_broken_edge_bundle_names_the_file(tmp_path, drop, config, message):
    path = _bundle(tmp_path / "edge", drop, config)
    with pytest.raises(ArtifactError, match=message):
        EdgeModel(path)


def test_unreadable_bundle_json(tmp_path):
    path = _bundle(tmp_path / "edge")
    with open(os.path.join(path, "bundle.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(ArtifactError, match="bundle.json is not readable JSON"):
        EdgeModel(path)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("saved") / "model.keras")
    tiny_model().save(path)
    return path


def test_empty_truncated_or_foreign_keras_files(tmp_path, keras_file):
    with open(keras_file, "rb") as f:
        archive = f.read()
    cases = {"empty.keras": b"", "truncated.keras": archive[: len(archive) // 2],
             "text.keras": b"hello"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ArtifactError, match=r"not a readable Keras archive \(empty or trunc"):
            load_model(str(tmp_path / name))
    assert isinstance(load_model(keras_file), MultiTaskModel)


def test_paths_of_another_kind_say_what_they_are(tmp_path):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07")
    saved_model = tmp_path / "foreign" / "1"
    (saved_model / "variables").mkdir(parents=True)
    (saved_model / "saved_model.pb").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "variables").mkdir()
    expected = {
        onnx: "is a bare ONNX graph .*predict from an edge bundle instead",
        saved_model: "is a SavedModel without keras_mtl metadata",
        tmp_path / "foreign": "holds SavedModel versions \\(1\\): give one version folder",
        tmp_path / "empty": "holds no model \\(it is empty\\)",
        tmp_path / "half": "is an incomplete SavedModel",
        tmp_path / "missing": "does not exist",
    }
    for path, message in expected.items():
        with pytest.raises(ArtifactError, match=message):
            cli._predict_any(str(path), ["show me"], [None])
    with pytest.raises(ArtifactError, match="is a folder, not a .keras file: it is a SavedModel"):
        load_model(str(saved_model))
    with pytest.raises(ArtifactError, match="is a bare ONNX graph"):
        load_model(str(onnx))
    assert artifact_kind(str(tmp_path / "foreign" / "1")) == "saved_model"


def test_the_command_prints_one_line_for_a_bare_onnx_file(tmp_path, capsys):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07")
    assert cli.main(["predict", str(onnx), "show me flights"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "bare ONNX graph" in err and "\n" not in err
    assert "TFSMLayer" not in err


# === The three runtimes agree ===
@pytest.fixture(scope="module")
def runtimes(tmp_path_factory):
    if keras.config.backend() != "tensorflow":
        pytest.skip("exported once, from the TensorFlow backend (the other backends' "
                    "export path is tested in tests/export)")
    from keras_mtl.export import export_edge_bundle, export_saved_model
    from keras_mtl.export.saved_model_client import SavedModelClient

    keras.utils.set_random_seed(0)
    model = tiny_model(sequence_length=16)
    folder = tmp_path_factory.mktemp("runtimes")
    export_saved_model(model, str(folder / "serving" / "1"))
    export_edge_bundle(model, str(folder / "edge"))
    return {
        "keras": model.predict_text,
        "saved_model": SavedModelClient(str(folder / "serving" / "1")).predict,
        "edge": EdgeModel(str(folder / "edge")).predict,
    }


def test_every_runtime_truncates_warns_and_refuses_alike(runtimes):
    texts = ["show me flights to boston", LONG]
    seen = {}
    for name, predict in runtimes.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = predict(texts)
        messages = [str(w.message) for w in caught if w.category is TruncationWarning]
        refusals = []
        for bad, _ in BAD_TEXTS:
            with pytest.raises(InputError) as error:
                predict(bad)
            refusals.append(str(error.value))
        seen[name] = {
            "slots": out["slots"]["labels"],
            "kept_scores": [len(s) for s in out["slots"]["scores"]],
            "intent": out["intent"]["labels"], "intent_scores": np.shape(out["intent"]["scores"]),
            "warnings": messages, "refusals": refusals, "empty": predict([]),
        }
    keras_seen = seen["keras"]
    assert keras_seen["warnings"] == [TRUNCATION_MESSAGE]
    assert [len(tags) for tags in keras_seen["slots"]] == [5, 30]
    assert keras_seen["slots"][1][14:] == [None] * 16 and keras_seen["kept_scores"] == [5, 14]
    assert keras_seen["intent_scores"] == (2, 2)
    assert keras_seen["empty"]["slots"] == {"labels": [], "scores": []}
    assert seen["saved_model"] == keras_seen
    assert seen["edge"] == keras_seen
