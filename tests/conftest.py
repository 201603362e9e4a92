"""Shared fixtures: a 30-token vocabulary, a hidden-size-8 BERT, tiny labelled data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import pytest  # noqa: E402

from keras_mtl import LabeledTexts, MultiTaskModel, MultiTaskPreprocessor, TaskSpec  # noqa: E402

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "show", "me", "flights", "from", "to", "boston", "denver", "book", "a",
    "flight", "cheap", "##est", "fare", "##s", "on", "monday", "what", "is",
    "the", "new", "york", "bos", "##ton", "and", "please",
]
INTENTS = ["atis_airfare", "atis_flight"]
SLOT_TAGS = ["O", "B-fromloc", "B-toloc", "I-toloc", "B-day"]

TEXTS = [
    "show me flights from boston to denver",
    "book a flight to new york on monday",
    "what is the cheapest fare from denver to boston",
    "show me fares to boston please",
]
INTENT_LABELS = ["atis_flight", "atis_flight", "atis_airfare", "atis_airfare"]
SLOT_LABELS = [
    ["O", "O", "O", "O", "B-fromloc", "O", "B-toloc"],
    ["O", "O", "O", "O", "B-toloc", "I-toloc", "O", "B-day"],
    ["O", "O", "O", "O", "O", "O", "B-fromloc", "O", "B-toloc"],
    ["O", "O", "O", "O", "B-toloc", "O"],
]


def tiny_tasks():
    return [
        TaskSpec("intent", "classification", labels=INTENTS, pooling="cls"),
        TaskSpec("slots", "token_classification", labels=SLOT_TAGS),
    ]


def tiny_tokenizer():
    from keras_mtl.preprocessing import BertWordPieceTokenizer

    return BertWordPieceTokenizer(vocabulary=VOCAB, lowercase=True)


def tiny_backbone():
    return keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB), num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=32,
    )


def tiny_model(tasks=None, sequence_length=16, **kwargs):
    tasks = tasks or tiny_tasks()
    preprocessor = MultiTaskPreprocessor(tiny_tokenizer(), tasks, sequence_length)
    return MultiTaskModel(tiny_backbone(), tasks, preprocessor=preprocessor, **kwargs)


def tiny_data(repeat=1):
    return LabeledTexts(
        TEXTS * repeat,
        {"intent": INTENT_LABELS * repeat, "slots": SLOT_LABELS * repeat},
        name="tiny",
    )


def runs_once(reason):
    """A mark for a test (or, as `pytestmark`, a module) that runs on the TensorFlow
    backend only; `reason` says where the other backends' share of it is tested."""
    return pytest.mark.skipif(keras.config.backend() != "tensorflow",
                              reason=f"runs once, on TensorFlow: {reason}")


@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    return tiny_model()


@pytest.fixture
def data():
    return tiny_data()


def run_fresh(code, *args, backend=None):
    """Runs `python -c code args` in a fresh process (`backend`, or the default Keras
    backend; this process's import path) and returns the JSON its last output line
    holds."""
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if backend:
        env["KERAS_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# argv: folder, inputs.json, task-type modules and a `.keras` file to export into the
# folder first ("" when the artefacts are there already); then predicts from both.
ARTEFACT_PREDICT = (
    "import importlib, json, os, sys\n"
    "import keras_mtl\n"
    "from keras_mtl.cli import _predict_any\n"
    "from keras_mtl.export import export_edge_bundle, export_saved_model\n"
    "folder = sys.argv[1]\n"
    "for module in json.loads(sys.argv[3]): importlib.import_module(module)\n"
    "if sys.argv[4]:\n"
    "    model = keras_mtl.load_model(sys.argv[4])\n"
    "    export_saved_model(model, os.path.join(folder, 'serving', '1'))\n"
    "    export_edge_bundle(model, os.path.join(folder, 'edge'))\n"
    "texts, pairs = json.loads(open(sys.argv[2]).read())\n"
    "labels = []\n"
    "for path in (os.path.join('serving', '1'), 'edge'):\n"
    "    tasks, out = _predict_any(os.path.join(folder, path), texts, pairs)\n"
    "    labels.append({t: o['labels'] for t, o in out.items()})\n"
    "print(json.dumps(labels))\n"
)


def artefact_labels(model, folder, texts, pairs=None):
    """Exports `model` as a SavedModel and an edge bundle under `folder`, and returns
    `[saved_model_labels, edge_labels]` (dict task → labels), predicted from the two
    artefacts in a fresh process the way `keras-mtl predict` does.

    On TensorFlow the artefacts are exported here. On JAX and torch the exporters
    save the model as `.keras` and export it in a TensorFlow process
    (`export/tensorflow_process.py`, tested on every backend in tests/export/); here
    that process is the fresh one, so one TensorFlow start-up serves both the
    exports and the predictions."""
    import json

    from keras_mtl.export import export_edge_bundle, export_saved_model
    from keras_mtl.export.tensorflow_process import task_type_modules

    if keras.config.backend() == "tensorflow":
        export_saved_model(model, os.path.join(folder, "serving", "1"))
        export_edge_bundle(model, os.path.join(folder, "edge"))
        to_export = ""
    else:
        to_export = os.path.join(folder, "exported_from_" + keras.config.backend() + ".keras")
        model.save(to_export)
    inputs = os.path.join(folder, "inputs.json")
    with open(inputs, "w", encoding="utf-8") as f:
        json.dump([texts, pairs], f)
    modules = task_type_modules(model)
    return run_fresh(ARTEFACT_PREDICT, folder, inputs, json.dumps(modules), to_export,
                     backend="tensorflow")
