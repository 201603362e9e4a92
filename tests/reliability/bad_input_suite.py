"""The bad-input suite: over a hundred bad inputs and faults against the command line,
the Python API, data files and running processes, each sorted into an outcome.

    python -m tests.reliability.bad_input_suite [--only SUBSTRING] [--json report.json]

Outcomes:
- `refused`: the input was refused with a clear message. For the command: exit code
  2, one `error: ...` line, no traceback. For the API: a `keras_mtl.errors` exception
  (or a `ValueError`/`TypeError` from a `raise` statement of keras_mtl). The message
  must name what each case says it must (the file, line, key, task or index).
- `ok`: an input that must work did, and its check passed.
- `traceback`, `silent` (accepted what must be refused, or a wrong answer),
  `unclear` (refused without naming what the case asks), `hang` (past its time
  limit), `overwrote` (a file that existed before changed): failures.

The suite builds what it needs in a temporary folder: a 1-layer random BERT preset
on a 40-word vocabulary, a run trained on 64 ATIS examples with the real loader, and
its SavedModel and edge bundle. It takes a few minutes on 2 cores; it is not part of
the test run (tests/reliability/*_test.py keep one test per class of failure).
"""

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

WORDS = [
    "show", "me", "flights", "from", "to", "boston", "denver", "what", "is", "the",
    "fare", "on", "monday", "atlanta", "dallas", "please", "i", "want", "a", "flight",
    "cheapest", "pittsburgh", "baltimore", "philadelphia", "and", "list", "all", "airlines",
    "in", "morning", "ground", "transportation", "san", "francisco", "washington", "new",
    "york", "miami", "ticket", "one",
]

CASES = []


def case(name, kind, expect="refuse", mentions=(), timeout=120):
    """Registers a case: a function of the suite's `Context` returning, for the
    command, `(exit_code, stdout, stderr)`; for the API, a value (or raising)."""
    def register(function):
        CASES.append(dict(name=name, kind=kind, expect=expect, mentions=tuple(mentions),
                          timeout=timeout, function=function))
        return function
    return register


# === What the cases run against ===


class Context:
    def __init__(self, root):
        self.root = root
        self.n = 0

    def path(self, name):
        self.n += 1
        folder = os.path.join(self.root, "cases", f"{self.n:03d}")
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, name)

    def write(self, name, content, mode="w"):
        path = self.path(name)
        with open(path, mode) as f:
            f.write(content)
        return path

    def config(self, **changes):
        """A YAML config of the tiny run with `changes` laid over each section."""
        import yaml

        config = {
            "name": "suite",
            "backbone": {"preset": self.preset, "sequence_length": 32},
            "data": {"dataset": "atis", "max_train_examples": 64},
            "tasks": [{"name": "intent", "type": "classification", "pooling": "cls"},
                      {"name": "slots", "type": "token_classification"}],
            "training": {"epochs": 1, "batch_size": 32, "tensorboard": False},
        }
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return self.write("config.yaml", yaml.safe_dump(config))


def build(root):
    """The tiny preset, a trained run, its SavedModel and its edge bundle."""
    import keras_hub

    from keras_mtl import cli

    ctx = Context(root)
    ctx.preset = os.path.join(root, "preset")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab), num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=64,
    ).save_to_preset(ctx.preset)
    keras_hub.models.BertTokenizer(vocabulary=vocab).save_to_preset(ctx.preset)
    ctx.run = os.path.join(root, "run")
    for argv in (["train", ctx.config(), "--output", ctx.run, "--quiet"],
                 ["export", ctx.run, "--output", os.path.join(root, "saved_model"), "--quiet"],
                 ["export", ctx.run, "--format", "edge", "--output", os.path.join(root, "edge"),
                  "--quiet"]):
        code = cli.main(argv)
        assert code == 0, argv
    ctx.saved_model = os.path.join(root, "saved_model")
    ctx.edge = os.path.join(root, "edge")
    return ctx


def cli_run(*argv):
    """`keras-mtl ARGV` in this process: `(exit_code, stdout, stderr)`; an exception
    escaping `main` is a traceback."""
    from keras_mtl import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exit_:  # argparse
            code = exit_.code
        except Exception:  # noqa: BLE001
            traceback.print_exc(file=err)
            code = "traceback"
    return code, out.getvalue(), err.getvalue()


def cli_process(*argv, timeout=300, env=None):
    """`keras-mtl ARGV` in a fresh process: `(exit_code, stdout, stderr)`."""
    result = subprocess.run(
        [sys.executable, "-m", "keras_mtl.cli", *map(str, argv)], capture_output=True,
        text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
    return result.returncode, result.stdout, result.stderr


def digest(*paths):
    found = {}
    for top in paths:
        if os.path.isfile(top):
            with open(top, "rb") as f:
                found[top] = hashlib.sha256(f.read()).hexdigest()
        for root, _, files in os.walk(top):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    found[path] = hashlib.sha256(f.read()).hexdigest()
    return found


def occupied_folder(ctx, name="out"):
    folder = ctx.path(name)
    os.makedirs(folder)
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(b"an older model")
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("[PAD]\n")
    return folder


class Check(Exception):
    """A case's own check failed: a silent wrong answer."""


def check(condition, message):
    if not condition:
        raise Check(message)


# === The command line: configs ===

BAD_CONFIGS = [
    ("config: unknown section", {"trainer": {}}, ["trainer"]),
    ("config: unknown training key", {"training": {"epoch": 2}}, ["epoch"]),
    ("config: epochs is a string", {"training": {"epochs": "three"}}, ["training.epochs"]),
    ("config: learning rate NaN", {"training": {"learning_rate": float("nan")}},
     ["learning_rate"]),
    ("config: batch size 0", {"training": {"batch_size": 0}}, ["batch_size"]),
    ("config: warmup ratio 1.5", {"training": {"warmup_ratio": 1.5}}, ["warmup_ratio"]),
    ("config: sequence length 2", {"backbone": {"sequence_length": 2}}, ["sequence_length"]),
    ("config: num_layers 0", {"backbone": {"num_layers": 0}}, ["num_layers"]),
    ("config: unknown sharing", {"backbone": {"sharing": "soft"}}, ["sharing"]),
    ("config: unknown preset", {"backbone": {"preset": "no_such_preset"}}, ["no_such_preset"]),
    ("config: no tasks", {"tasks": []}, ["tasks"]),
    ("config: tasks not a list", {"tasks": "intent"}, ["tasks"]),
    ("config: duplicate task names",
     {"tasks": [{"name": "intent", "type": "classification"},
                {"name": "intent", "type": "classification"}]}, ["intent"]),
    ("config: misspelt task type", {"tasks": [{"name": "intent", "type": "clasification"}]},
     ["clasification"]),
    ("config: unknown task key",
     {"tasks": [{"name": "intent", "type": "classification", "pool": "cls"}]}, ["pool"]),
    ("config: task without labels in data", {"tasks": [{"name": "topic", "type": "classification"}]},
     ["topic"]),
    ("config: unknown dataset", {"data": {"dataset": "imdb"}}, ["imdb"]),
    ("config: unknown dataset option", {"data": {"dataset": {"atis": {"lang": "de"}}}},
     ["atis"]),
    ("config: max_train_examples 0", {"data": {"max_train_examples": 0}},
     ["max_train_examples"]),
    ("config: fixed sampler NaN weight",
     {"data": {"dataset": ["atis", "wnut16"], "sampler": {"name": "fixed",
               "weights": {"atis": float("nan"), "wnut16": 1.0}}},
      "tasks": [{"name": "intent", "type": "classification"},
                {"name": "ner", "type": "token_classification"}]}, ["weights"]),
    ("config: unknown sampler", {"data": {"sampler": "roundrobin"}}, ["roundrobin"]),
    ("config: unknown weighting", {"weighting": {"strategy": "famous"}}, ["famous"]),
    ("config: DWA temperature a string", {"weighting": {"strategy": "dwa", "temperature": "2"}},
     ["temperature"]),
    ("config: DWA temperature NaN",
     {"weighting": {"strategy": "dwa", "temperature": float("nan")}}, ["temperature"]),
    ("config: static weights negative",
     {"weighting": {"strategy": "static", "weights": {"intent": -1.0, "slots": 1.0}}},
     ["intent"]),
    ("config: unknown strategy", {"training": {"strategy": "tpu"}}, ["tpu"]),
    ("config: unknown mixed precision", {"training": {"mixed_precision": "fp8"}}, ["fp8"]),
    ("config: patience without restore_best", {"training": {"patience": 2}}, ["patience"]),
    ("config: patience 0", {"training": {"patience": 0, "restore_best": True}}, ["patience"]),
    ("config: type_module missing",
     {"tasks": [{"name": "intent", "type": "classification", "type_module": "no.such"}]},
     ["no.such"]),
    ("config: monitor not logged", {"training": {"restore_best": True, "monitor": "val_f1"}},
     ["val_f1"]),
]

for _name, _changes, _mentions in BAD_CONFIGS:
    def _bad_config(ctx, changes=_changes):
        return cli_run("train", ctx.config(**changes), "--output", ctx.path("run"), "--quiet")
    case(_name, "cli", mentions=_mentions)(_bad_config)


@case("train: config file missing", "cli", mentions=["nope.yaml"])
def _(ctx):
    return cli_run("train", os.path.join(ctx.root, "nope.yaml"))


@case("train: config is a folder", "cli", mentions=["folder"])
def _(ctx):
    folder = ctx.path("folder")
    os.makedirs(folder)
    return cli_run("train", folder)


@case("train: malformed YAML", "cli", mentions=["YAML"])
def _(ctx):
    return cli_run("train", ctx.write("bad.yaml", "training: {epochs: 2\n"))


@case("train: YAML list, not a mapping", "cli", mentions=["mapping"])
def _(ctx):
    return cli_run("train", ctx.write("list.yaml", "- 1\n- 2\n"))


@case("train: config not UTF-8", "cli", mentions=["bad.yaml"])
def _(ctx):
    return cli_run("train", ctx.write("bad.yaml", b"name: caf\xe9\n", mode="wb"))


@case("train: --epochs 0", "cli", mentions=["--epochs"])
def _(ctx):
    return cli_run("train", ctx.config(), "--epochs", "0", "--output", ctx.path("run"))


@case("train: --output is a file", "cli", mentions=["a_file"])
def _(ctx):
    return cli_run("train", ctx.config(), "--output", ctx.write("a_file", "keep"))


def folder_of_notes(ctx):
    """A folder holding a user's `notes.txt`."""
    folder = ctx.path("mine")
    os.makedirs(folder)
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("keep")
    return folder


@case("train: --output holds other files", "cli", mentions=["notes.txt"])
def _(ctx):
    return cli_run("train", ctx.config(), "--output", folder_of_notes(ctx))


@case("train: --output holds a finished run", "cli", mentions=["finished run"])
def _(ctx):
    import yaml

    with open(os.path.join(ctx.run, "config.json")) as f:
        config = json.load(f)
    return cli_run("train", ctx.write("same.yaml", yaml.safe_dump(config)), "--output", ctx.run)


@case("train: --output holds a run of another config", "cli", mentions=["training.epochs"])
def _(ctx):
    return cli_run("train", ctx.config(training={"epochs": 2}), "--output", ctx.run)


@case("train: --output under a file", "cli", mentions=["is a file"])
def _(ctx):
    return cli_run("train", ctx.config(), "--output", os.path.join(ctx.write("f", ""), "run"))


@case("train: --strategy unknown", "cli", mentions=["tpu"])
def _(ctx):
    return cli_run("train", ctx.config(), "--strategy", "tpu", "--output", ctx.path("run"))


@case("train: restore_best without a dev split", "cli", mentions=["dev split"])
def _(ctx):
    rows = "\n".join(json.dumps({"text": f"show me flights {i}", "intent": "a" if i % 2 else "b"})
                     for i in range(40))
    data = ctx.write("train.jsonl", rows + "\n")
    return cli_run("train", ctx.config(
        data={"dataset": {"mine": {"format": "jsonl", "train": data}}},
        tasks=[{"name": "intent", "type": "classification"}],
        training={"restore_best": True}), "--output", ctx.path("run"), "--quiet")


@case("train: the tiny run trains", "cli", expect="ok")
def _(ctx):
    output = ctx.path("run")
    code, out, err = cli_run("train", ctx.config(training={"restore_best": True}),
                             "--output", output)
    check(code == 0, f"exit {code}: {err[-300:]}")
    with open(os.path.join(output, "metrics.json")) as f:
        check("best_epoch" in json.load(f), "metrics.json has no best_epoch")
    return code, out, err


# === The command line: evaluate, predict, export, compare ===


@case("evaluate: run folder missing", "cli", mentions=["nowhere"])
def _(ctx):
    return cli_run("evaluate", os.path.join(ctx.root, "nowhere"))


@case("evaluate: model.keras without config.json", "cli", mentions=["config.json"])
def _(ctx):
    folder = ctx.path("lone")
    os.makedirs(folder)
    import shutil

    shutil.copy(os.path.join(ctx.run, "model.keras"), folder)
    return cli_run("evaluate", folder)


@case("evaluate: unknown split", "cli", mentions=["validation"])
def _(ctx):
    return cli_run("evaluate", ctx.run, "--split", "validation")


@case("evaluate: empty model.keras", "cli", mentions=["model.keras"])
def _(ctx):
    folder = ctx.path("empty")
    os.makedirs(folder)
    open(os.path.join(folder, "model.keras"), "w").close()
    return cli_run("evaluate", folder)


@case("evaluate: truncated model.keras", "cli", mentions=["model.keras"])
def _(ctx):
    folder = ctx.path("cut")
    os.makedirs(folder)
    with open(os.path.join(ctx.run, "model.keras"), "rb") as f:
        data = f.read()
    with open(os.path.join(folder, "model.keras"), "wb") as f:
        f.write(data[: len(data) // 2])
    return cli_run("evaluate", folder)


@case("evaluate: a text file named model.keras", "cli", mentions=["model.keras"])
def _(ctx):
    folder = ctx.path("text")
    os.makedirs(folder)
    with open(os.path.join(folder, "model.keras"), "w") as f:
        f.write("hello")
    return cli_run("evaluate", folder)


@case("predict: path missing", "cli", mentions=["nowhere"])
def _(ctx):
    return cli_run("predict", os.path.join(ctx.root, "nowhere"), "show me flights")


@case("predict: a bare ONNX file", "cli", mentions=["model.onnx", "edge"])
def _(ctx):
    return cli_run("predict", os.path.join(ctx.edge, "model.onnx"), "show me flights")


@case("predict: an empty folder", "cli", mentions=["empty"])
def _(ctx):
    folder = ctx.path("empty")
    os.makedirs(folder)
    return cli_run("predict", folder, "show me flights")


def _copy_edge(ctx, drop=None, bundle_text=None):
    import shutil

    folder = ctx.path("edge")
    shutil.copytree(ctx.edge, folder)
    if drop:
        os.remove(os.path.join(folder, drop))
    if bundle_text is not None:
        with open(os.path.join(folder, "bundle.json"), "w") as f:
            f.write(bundle_text)
    return folder


@case("predict: edge bundle without model.onnx", "cli", mentions=["model.onnx"])
def _(ctx):
    return cli_run("predict", _copy_edge(ctx, drop="model.onnx"), "show me flights")


@case("predict: edge bundle without vocab.txt", "cli", mentions=["vocab.txt"])
def _(ctx):
    return cli_run("predict", _copy_edge(ctx, drop="vocab.txt"), "show me flights")


@case("predict: edge bundle.json not JSON", "cli", mentions=["bundle.json"])
def _(ctx):
    return cli_run("predict", _copy_edge(ctx, bundle_text="{not json"), "show me flights")


@case("predict: edge bundle of a newer format", "cli", mentions=["format"])
def _(ctx):
    with open(os.path.join(ctx.edge, "bundle.json")) as f:
        bundle = json.load(f)
    bundle["format"] = 99
    return cli_run("predict", _copy_edge(ctx, bundle_text=json.dumps(bundle)), "show me")


@case("predict: SavedModel without keras_mtl metadata", "cli", mentions=["keras_mtl"])
def _(ctx):
    import shutil

    folder = ctx.path("sm")
    shutil.copytree(ctx.saved_model, folder)
    shutil.rmtree(os.path.join(folder, "assets.extra"))
    return cli_run("predict", folder, "show me flights")


@case("predict: empty text", "cli", mentions=["empty"])
def _(ctx):
    return cli_run("predict", ctx.run, "")


@case("predict: whitespace text", "cli", mentions=["empty"])
def _(ctx):
    return cli_run("predict", ctx.run, "   ")


@case("predict: --pair count mismatch", "cli", mentions=["--pair"])
def _(ctx):
    return cli_run("predict", ctx.run, "a", "b", "--pair", "c")


@case("predict: a lone surrogate in the text", "cli", mentions=["Text 0"])
def _(ctx):
    return cli_run("predict", ctx.run, "show \udcff flights")


def _long_text_rows(ctx, target):
    words = " ".join(["flights"] * 5000)
    code, out, err = cli_run("predict", target, words)
    check(code == 0, f"exit {code}: {err[-300:]}")
    row = json.loads(out)[0]
    labels = row["slots"]["labels"]
    check(len(labels) == 5000, f"{len(labels)} slot labels for 5000 words")
    check(labels[-1] is None and labels[0] is not None, "cut-off words are not None")
    check("truncated" in err, f"no truncation warning: {err!r}")
    return code, out, err


@case("predict: 5,000 words through model.keras", "cli", expect="ok")
def _(ctx):
    return _long_text_rows(ctx, ctx.run)


@case("predict: 5,000 words through the SavedModel", "cli", expect="ok")
def _(ctx):
    return _long_text_rows(ctx, ctx.saved_model)


@case("predict: 5,000 words through the edge bundle", "cli", expect="ok")
def _(ctx):
    return _long_text_rows(ctx, ctx.edge)


def _export_over(ctx, fmt, *extra):
    target = occupied_folder(ctx) if fmt != "onnx" else ctx.write("old.onnx", "older")
    before = digest(target)
    result = cli_run("export", ctx.run, "--format", fmt, "--output", target, *extra)
    if digest(target) != before:
        raise Overwrote(target)
    return result


class Overwrote(Exception):
    pass


@case("export: edge into a non-empty folder", "cli", mentions=["not empty"])
def _(ctx):
    return _export_over(ctx, "edge")


@case("export: int8 edge into a non-empty folder", "cli", mentions=["not empty"])
def _(ctx):
    return _export_over(ctx, "edge", "--quantize", "int8")


@case("export: SavedModel into a non-empty folder", "cli", mentions=["not empty"])
def _(ctx):
    return _export_over(ctx, "saved_model")


@case("export: ONNX over an existing file", "cli", mentions=["already exists"])
def _(ctx):
    return _export_over(ctx, "onnx")


@case("export: SavedModel onto a file", "cli", mentions=["is a file"])
def _(ctx):
    return cli_run("export", ctx.run, "--output", ctx.write("file", "keep"))


@case("export: --quantize with a SavedModel", "cli", mentions=["--quantize"])
def _(ctx):
    return cli_run("export", ctx.run, "--quantize", "int8", "--output", ctx.path("sm"))


@case("export: run missing", "cli", mentions=["nowhere"])
def _(ctx):
    return cli_run("export", os.path.join(ctx.root, "nowhere"), "--output", ctx.path("sm"))


@case("export: empty model.keras", "cli", mentions=["model.keras"])
def _(ctx):
    folder = ctx.path("empty")
    os.makedirs(folder)
    open(os.path.join(folder, "model.keras"), "w").close()
    return cli_run("export", folder, "--output", ctx.path("sm"))


@case("export: edge bundle writes", "cli", expect="ok")
def _(ctx):
    target = ctx.path("bundle")
    result = cli_run("export", ctx.run, "--format", "edge", "--output", target)
    check(sorted(os.listdir(target)) == ["bundle.json", "model.onnx", "vocab.txt"],
          f"bundle holds {os.listdir(target)}")
    check(not [n for n in os.listdir(os.path.dirname(target)) if "partial" in n],
          "a partial folder was left behind")
    return result


@case("compare: a config with one task", "cli", mentions=["two tasks"])
def _(ctx):
    return cli_run("compare", ctx.config(tasks=[{"name": "intent", "type": "classification"}]),
                   "--output", ctx.path("cmp"))


@case("compare: --seeds 0", "cli", mentions=["--seeds"])
def _(ctx):
    return cli_run("compare", ctx.config(), "--seeds", "0", "--output", ctx.path("cmp"))


@case("compare: --output holds other files", "cli", mentions=["notes.txt"])
def _(ctx):
    return cli_run("compare", ctx.config(), "--output", folder_of_notes(ctx))


@case("compare: a learning-rate grid with 0", "cli", mentions=["0"])
def _(ctx):
    return cli_run("compare", ctx.config(), "--learning-rates", "1e-4", "0",
                   "--output", ctx.path("cmp"))


@case("compare: a learning-rate grid with NaN", "cli", mentions=["nan"])
def _(ctx):
    return cli_run("compare", ctx.config(), "--learning-rates", "nan",
                   "--output", ctx.path("cmp"))


@case("compare: --max-epochs without --budget convergence", "cli", mentions=["--max-epochs"])
def _(ctx):
    return cli_run("compare", ctx.config(), "--max-epochs", "5", "--output", ctx.path("cmp"))


@case("compare: --patience 0", "cli", mentions=["patience"])
def _(ctx):
    return cli_run("compare", ctx.config(), "--budget", "convergence", "--patience", "0",
                   "--output", ctx.path("cmp"))


@case("compare: tasks that share no dataset", "cli", mentions=["dataset"])
def _(ctx):
    return cli_run("compare", ctx.config(
        data={"dataset": ["atis", "wnut16"]},
        tasks=[{"name": "intent", "type": "classification"},
               {"name": "ner", "type": "token_classification"}]),
        "--output", ctx.path("cmp"))


@case("command: unknown backend", "cli", mentions=["--backend"])
def _(ctx):
    return cli_run("--backend", "mxnet", "train")


@case("command: no command", "cli", mentions=["command"])
def _(ctx):
    return cli_run()


@case("command: unknown export format", "cli", mentions=["--format"])
def _(ctx):
    return cli_run("export", ctx.run, "--format", "tflite", "--output", ctx.path("x"))


# === The Python API ===


def tiny_model():
    from keras_mtl import MultiTaskModel, TaskSpec

    tasks = [TaskSpec("intent", "classification", labels=["a", "b"], pooling="cls"),
             TaskSpec("slots", "token_classification", labels=["O", "B-x"])]
    return MultiTaskModel.from_preset(_CTX.preset, tasks=tasks, sequence_length=16)


def api_labeled(texts, labels, **kw):
    from keras_mtl import LabeledTexts

    return LabeledTexts(texts, labels, name="api", **kw)


@case("api: LabeledTexts label count ≠ text count", "api", mentions=["intent"])
def _(ctx):
    return api_labeled(["a b", "c"], {"intent": ["a"]})


@case("api: LabeledTexts text not a string", "api", mentions=["1"])
def _(ctx):
    return api_labeled(["a b", 7], {"intent": ["a", "b"]})


@case("api: LabeledTexts word labels ≠ words", "api", mentions=["slots"])
def _(ctx):
    from keras_mtl.data import make_dataset

    model = tiny_model()
    data = api_labeled(["show me flights"], {"slots": [["O", "O"]]})
    return make_dataset(model.preprocessor, data, batch_size=2)


@case("api: TaskSpec unknown type", "api", mentions=["sentiment"])
def _(ctx):
    from keras_mtl import TaskSpec

    return TaskSpec("x", "sentiment")


@case("api: TaskSpec duplicate labels", "api", mentions=["a"])
def _(ctx):
    from keras_mtl import TaskSpec

    return TaskSpec("x", "classification", labels=["a", "a"])


@case("api: TaskSpec empty name", "api", mentions=["name"])
def _(ctx):
    from keras_mtl import TaskSpec

    return TaskSpec("", "classification", labels=["a", "b"])


@case("api: two tasks with one name", "api", mentions=["intent"])
def _(ctx):
    from keras_mtl import MultiTaskModel, TaskSpec

    tasks = [TaskSpec("intent", "classification", labels=["a", "b"])] * 2
    return MultiTaskModel.from_preset(ctx.preset, tasks=tasks, sequence_length=16)


@case("api: make_dataset batch_size 0", "api", mentions=["batch_size"])
def _(ctx):
    from keras_mtl.data import make_dataset

    return make_dataset(tiny_model().preprocessor, api_labeled(["a"], {"intent": ["a"]}),
                        batch_size=0)


@case("api: make_dataset bucket_step -1", "api", mentions=["bucket_step"])
def _(ctx):
    from keras_mtl.data import make_dataset

    return make_dataset(tiny_model().preprocessor, api_labeled(["a"], {"intent": ["a"]}),
                        batch_size=2, bucket_step=-1)


@case("api: labels for a task the model lacks", "api", mentions=["topic"])
def _(ctx):
    from keras_mtl.data import make_dataset

    return make_dataset(tiny_model().preprocessor,
                        api_labeled(["show me"], {"topic": ["x"]}), batch_size=2)


@case("api: a label outside the label set", "api", mentions=["zzz", "intent"])
def _(ctx):
    from keras_mtl.data import make_dataset

    return make_dataset(tiny_model().preprocessor,
                        api_labeled(["show me"], {"intent": ["zzz"]}), batch_size=2)


@case("api: fit on data without one task's column", "api", expect="ok")
def _(ctx):
    import keras

    from keras_mtl.data import make_dataset

    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-3))
    data = api_labeled(["show me flights", "to boston"], {"intent": ["a", "b"]})
    history = model.fit(make_dataset(model.preprocessor, data, batch_size=2), verbose=0)
    check(math.isfinite(history.history["loss"][0]), "loss is not finite")
    return history.history


def _fit_ids(ids):
    import keras

    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-3))
    x = {"token_ids": np.full((2, 4), 5, "int32"), "segment_ids": np.zeros((2, 4), "int32"),
         "padding_mask": np.ones((2, 4), "int32")}
    return model.fit(x=x, y={"intent": np.array(ids)}, batch_size=2, verbose=0)


@case("api: a raw class id above the label set", "api", mentions=["intent"])
def _(ctx):
    return _fit_ids([0, 7])


@case("api: a negative raw class id", "api", mentions=["intent"])
def _(ctx):
    return _fit_ids([0, -3])


@case("api: predict([])", "api", expect="ok")
def _(ctx):
    result = tiny_model().predict_text([])
    check(all(len(v["labels"]) == 0 for v in result.values()), f"not empty: {result}")
    return result


@case("api: predict(['ok', None])", "api", mentions=["1"])
def _(ctx):
    return tiny_model().predict(["show me", None])


@case("api: predict(one string)", "api", mentions=["list"])
def _(ctx):
    return tiny_model().predict("show me")


@case("api: predict([1, 2])", "api", mentions=["0"])
def _(ctx):
    return tiny_model().predict_text([1, 2])


@case("api: predict(float NaN)", "api", mentions=["1"])
def _(ctx):
    return tiny_model().predict_text(["show me", float("nan")])


@case("api: predict(numpy strings)", "api", expect="ok")
def _(ctx):
    result = tiny_model().predict_text(np.array(["show me", "flights to boston"]))
    check(len(result["intent"]["labels"]) == 2, "two texts, not two labels")
    return result


@case("api: predict_text text_pairs wrong length", "api", mentions=["2"])
def _(ctx):
    return tiny_model().predict_text(["a", "b"], text_pairs=["c"])


@case("api: predict_text bytes not UTF-8", "api", mentions=["UTF-8"])
def _(ctx):
    return tiny_model().predict_text([b"caf\xe9"])


@case("api: task_weights.assign([2.0, 1.0])", "api", expect="ok")
def _(ctx):
    model = tiny_model()
    model.task_weights.assign([2.0, 1.0])
    check(model.task_weights.as_dict() == {"intent": 2.0, "slots": 1.0},
          f"weights {model.task_weights.as_dict()}")
    return model.task_weights.as_dict()


@case("api: task_weights.assign wrong length", "api", mentions=["2"])
def _(ctx):
    return tiny_model().task_weights.assign([1.0])


@case("api: task_weights.assign unknown task", "api", mentions=["nope"])
def _(ctx):
    return tiny_model().task_weights.assign({"nope": 1.0})


@case("api: task_weights.assign NaN", "api", mentions=["intent"])
def _(ctx):
    return tiny_model().task_weights.assign({"intent": float("nan")})


@case("api: task_weights.assign negative", "api", mentions=["intent"])
def _(ctx):
    return tiny_model().task_weights.assign({"intent": -1.0})


@case("api: AdaptiveTaskWeighting unknown strategy", "api", mentions=["nope"])
def _(ctx):
    from keras_mtl import AdaptiveTaskWeighting

    return AdaptiveTaskWeighting("nope")


@case("api: AdaptiveTaskWeighting temperature string", "api", mentions=["temperature"])
def _(ctx):
    from keras_mtl import AdaptiveTaskWeighting

    return AdaptiveTaskWeighting("dwa", temperature="2")


@case("api: FixedSampler NaN weight", "api", mentions=["weight"])
def _(ctx):
    from keras_mtl.data.samplers import FixedSampler

    return FixedSampler({"a": float("nan"), "b": 1.0}).probabilities(
        {"a": 10, "b": 10}, epoch=0) if hasattr(FixedSampler, "probabilities") else \
        FixedSampler({"a": float("nan"), "b": 1.0})


@case("api: TemperatureSampler negative alpha", "api", mentions=["alpha"])
def _(ctx):
    from keras_mtl.data.samplers import TemperatureSampler

    return TemperatureSampler(alpha=-1.0)


@case("api: TaskMixture without datasets", "api", mentions=["dataset"])
def _(ctx):
    from keras_mtl import TaskMixture

    return TaskMixture(tiny_model().preprocessor, {}, batch_size=2)


@case("api: EdgeModel without model.onnx", "api", mentions=["model.onnx"])
def _(ctx):
    from keras_mtl.edge import EdgeModel

    return EdgeModel(_copy_edge(ctx, drop="model.onnx"))


@case("api: EdgeModel of a missing folder", "api", mentions=["nowhere"])
def _(ctx):
    from keras_mtl.edge import EdgeModel

    return EdgeModel(os.path.join(ctx.root, "nowhere"))


@case("api: EdgeModel.predict(['ok', None])", "api", mentions=["1"])
def _(ctx):
    from keras_mtl.edge import EdgeModel

    return EdgeModel(ctx.edge).predict(["show me", None])


@case("api: EdgeModel.predict([])", "api", expect="ok")
def _(ctx):
    from keras_mtl.edge import EdgeModel

    result = EdgeModel(ctx.edge).predict([])
    check(all(len(v["labels"]) == 0 for v in result.values()), f"not empty: {result}")
    return result


@case("api: load_model of an empty file", "api", mentions=["x.keras"])
def _(ctx):
    from keras_mtl import load_model

    return load_model(ctx.write("x.keras", ""))


@case("api: load_model of a truncated file", "api", mentions=["x.keras"])
def _(ctx):
    from keras_mtl import load_model

    with open(os.path.join(ctx.run, "model.keras"), "rb") as f:
        data = f.read()
    return load_model(ctx.write("x.keras", data[:1000], mode="wb"))


@case("api: load_model of a missing file", "api", mentions=["x.keras"])
def _(ctx):
    from keras_mtl import load_model

    return load_model(os.path.join(ctx.root, "x.keras"))


@case("api: export_onnx over a file", "api", mentions=["already exists"])
def _(ctx):
    from keras_mtl.export import export_onnx

    path = ctx.write("m.onnx", "older")
    try:
        return export_onnx(tiny_model(), path)
    finally:
        with open(path) as f:
            if f.read() != "older":
                raise Overwrote(path)


@case("api: export_edge_bundle into a non-empty folder", "api", mentions=["not empty"])
def _(ctx):
    from keras_mtl.export import export_edge_bundle

    folder = occupied_folder(ctx)
    before = digest(folder)
    try:
        return export_edge_bundle(tiny_model(), folder)
    finally:
        if digest(folder) != before:
            raise Overwrote(folder)


@case("api: export_saved_model into a non-empty folder", "api", mentions=["not empty"])
def _(ctx):
    from keras_mtl.export import export_saved_model

    return export_saved_model(tiny_model(), occupied_folder(ctx))


# === Data files ===


def read(reader, path, **options):
    from keras_mtl.datasets import tables

    return getattr(tables, reader)(path, **options)


JSONL_OPTIONS = CSV_OPTIONS = dict(tasks=["intent"])

FILE_CASES = [
    ("file: JSONL with a non-UTF-8 byte", "read_jsonl", "d.jsonl",
     b'{"text": "ok", "intent": "a"}\n{"text": "caf\xe9", "intent": "b"}\n', ["d.jsonl:2"]),
    ("file: JSONL line not JSON", "read_jsonl", "d.jsonl",
     b'{"text": "ok", "intent": "a"}\n{"text": \n', ["d.jsonl:2"]),
    ("file: JSONL line not an object", "read_jsonl", "d.jsonl",
     b'{"text": "ok", "intent": "a"}\n[1, 2]\n', ["d.jsonl:2"]),
    ("file: JSONL missing text field", "read_jsonl", "d.jsonl",
     b'{"txt": "ok", "intent": "a"}\n', ["d.jsonl", "'text'"]),
    ("file: JSONL label of the wrong type", "read_jsonl", "d.jsonl",
     b'{"text": "ok", "intent": {"a": 1}}\n', ["d.jsonl:1", "intent"]),
    ("file: JSONL empty", "read_jsonl", "d.jsonl", b"", ["d.jsonl"]),
    ("file: CSV with a non-UTF-8 byte", "read_csv", "d.csv",
     b"text,intent\nok,a\ncaf\xe9,b\n", ["d.csv:3"]),
    ("file: CSV missing column", "read_csv", "d.csv", b"txt,intent\nok,a\n", ["d.csv", "text"]),
    ("file: CSV ragged row", "read_csv", "d.csv", b"text,intent\nok,a,extra\n", ["d.csv:2"]),
    ("file: CSV empty", "read_csv", "d.csv", b"", ["d.csv"]),
]

for _name, _reader, _file, _content, _mentions in FILE_CASES:
    def _file_case(ctx, reader=_reader, file=_file, content=_content):
        options = JSONL_OPTIONS if reader == "read_jsonl" else CSV_OPTIONS
        return read(reader, ctx.write(file, content, mode="wb"), **options)
    case(_name, "file", mentions=_mentions)(_file_case)


@case("file: JSONL with a BOM and CRLF", "file", expect="ok")
def _(ctx):
    data = read("read_jsonl", ctx.write(
        "d.jsonl", b'\xef\xbb\xbf{"text": "ok", "intent": "a"}\r\n', mode="wb"), **JSONL_OPTIONS)
    check(data.texts == ["ok"], f"texts {data.texts}")
    return data


@case("file: a folder given as a file", "file", mentions=["d.jsonl", "folder"])
def _(ctx):
    folder = ctx.path("d.jsonl")
    os.makedirs(folder)
    return read("read_jsonl", folder, **JSONL_OPTIONS)


@case("file: a missing file", "file", mentions=["missing.jsonl"])
def _(ctx):
    return read("read_jsonl", os.path.join(ctx.root, "missing.jsonl"), **JSONL_OPTIONS)


CONLL = "show O\nme O\n\nto O\nboston B-loc\n"
CONLLU_OK = ("# text = show me\n1\tshow\tshow\tVERB\t_\t_\t0\troot\t_\t_\n"
             "2\tme\tme\tPRON\t_\t_\t1\tobj\t_\t_\n\n")


def read_conll(path):
    from keras_mtl.datasets.conll import read_conll as reader

    return reader(path)


def read_conllu(path):
    from keras_mtl.datasets.conllu import read_conllu as reader

    return reader(path)


@case("file: CoNLL with a non-UTF-8 byte", "file", mentions=["d.conll:4"])
def _(ctx):
    return read_conll(ctx.write("d.conll", CONLL.encode().replace(b"to", b"t\xe9"), mode="wb"))


@case("file: CoNLL-U with a non-UTF-8 byte", "file", mentions=["d.conllu:2"])
def _(ctx):
    return read_conllu(ctx.write("d.conllu", CONLLU_OK.encode().replace(b"1\tshow\tshow",
                                 b"1\tsh\xe9w\tshow"), mode="wb"))


@case("file: CoNLL-U HEAD out of range", "file", mentions=["d.conllu:3"])
def _(ctx):
    return read_conllu(ctx.write("d.conllu", CONLLU_OK.replace("\t1\tobj", "\t7\tobj")))


@case("file: CoNLL-U cycle", "file", mentions=["d.conllu"])
def _(ctx):
    text = CONLLU_OK.replace("\t0\troot", "\t2\troot")
    return read_conllu(ctx.write("d.conllu", text))


@case("file: CoNLL-U ID not a number", "file", mentions=["d.conllu:3"])
def _(ctx):
    return read_conllu(ctx.write("d.conllu", CONLLU_OK.replace("2\tme", "x\tme")))


@case("file: CoNLL-U too few columns", "file", mentions=["d.conllu:3"])
def _(ctx):
    return read_conllu(ctx.write("d.conllu", CONLLU_OK.replace("\tobj\t_\t_", "")))


# === Faults: killed and interrupted processes ===


@case("fault: kill -9 mid-epoch, then the same command", "fault", expect="ok", timeout=600)
def _(ctx):
    output = ctx.path("run")
    config = ctx.config(data={"max_train_examples": 1200}, training={"epochs": 4,
                        "batch_size": 8})
    command = [sys.executable, "-m", "keras_mtl.cli", "train", config, "--output", output]
    history = os.path.join(output, "history.csv")

    def epochs():
        if not os.path.exists(history):
            return []
        with open(history) as f:
            return [line.split(",")[0] for line in f.read().splitlines()[1:]]

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(epochs()) < 1:
        check(time.time() < deadline and process.poll() is None, "no epoch finished")
        time.sleep(0.1)
    time.sleep(1.0)
    check(process.poll() is None, "finished before the kill")
    process.kill()
    process.wait()
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    check(result.returncode == 0, result.stderr[-500:])
    check(epochs() == ["0", "1", "2", "3"], f"history epochs {epochs()}")
    check(result.stdout.startswith("Resuming"), f"first line {result.stdout[:80]!r}")
    return result.returncode, result.stdout, result.stderr


@case("fault: kill -9 during an edge export", "fault", expect="ok", timeout=600)
def _(ctx):
    target = ctx.path("bundle")
    command = [sys.executable, "-m", "keras_mtl.cli", "export", ctx.run, "--format", "edge",
               "--output", target]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = os.path.dirname(target)
    deadline = time.time() + 200
    while not [n for n in os.listdir(parent) if "partial" in n]:
        check(time.time() < deadline and process.poll() is None, "no partial folder seen")
        time.sleep(0.05)
    process.kill()
    process.wait()
    check(not os.path.exists(target), "a half-written bundle is at the destination")
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    check(result.returncode == 0, result.stderr[-500:])
    check(sorted(os.listdir(target)) == ["bundle.json", "model.onnx", "vocab.txt"], "bundle")
    return result.returncode, result.stdout, result.stderr


@case("fault: Ctrl-C during training", "fault", expect="ok", timeout=600)
def _(ctx):
    output = ctx.path("run")
    config = ctx.config(data={"max_train_examples": 1200}, training={"epochs": 3,
                        "batch_size": 8})
    command = [sys.executable, "-m", "keras_mtl.cli", "train", config, "--output", output]
    # As from a terminal: a background job started by a script ignores SIGINT.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(
                                   signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    history = os.path.join(output, "history.csv")
    while not (os.path.exists(history) and len(open(history).read().splitlines()) > 1):
        check(time.time() < deadline and process.poll() is None, "no epoch finished")
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    check(process.returncode == 130, f"exit {process.returncode}: {err[-300:]}")
    check("Traceback" not in err, "a traceback on Ctrl-C")
    check("resume" in err, f"no word on resuming: {err[-200:]!r}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    check(result.returncode == 0 and result.stdout.startswith("Resuming"),
          f"exit {result.returncode}: {result.stdout[:100]!r} {result.stderr[-300:]}")
    return process.returncode, out, err


@case("start-up: no library log line before the command's own", "fault", expect="ok",
      timeout=600)
def _(ctx):
    from keras_mtl.console import is_native_log_line

    code, out, err = cli_process("train", ctx.config(), "--output", ctx.path("run"))
    check(code == 0, err[-300:])
    check(not [line for line in (out + err).splitlines() if is_native_log_line(line)],
          "native log lines: " + err[:300])
    check(out.startswith("Devices: "), f"first line {out[:80]!r}")
    return code, out, err


@case("start-up: a refused config in a fresh process", "fault", mentions=["trainer"])
def _(ctx):
    return cli_process("train", ctx.config(trainer={}))


# === Running and sorting ===


_CTX = None


def outcome(spec, ctx):
    """`(outcome, detail)` of one case."""
    from keras_mtl.cli import _expected_failure

    start = time.time()

    def alarm(*_):
        raise TimeoutError(f"past {spec['timeout']} s")

    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(spec["timeout"])
    try:
        result = spec["function"](ctx)
    except Overwrote as error:
        return "overwrote", str(error)
    except Check as error:
        return "silent", str(error)
    except TimeoutError as error:
        return "hang", str(error)
    except subprocess.TimeoutExpired as error:
        return "hang", str(error)
    except Exception as error:  # noqa: BLE001
        if spec["kind"] == "cli":
            return "traceback", "".join(traceback.format_exception(error))[-800:]
        message = _expected_failure(error)
        if message is None:
            return "traceback", "".join(traceback.format_exception(error))[-800:]
        if spec["expect"] == "ok":
            return "silent", f"refused what must work: {message}"
        missing = [m for m in spec["mentions"] if m not in message]
        return ("unclear" if missing else "refused"), message
    finally:
        signal.alarm(0)
    seconds = time.time() - start
    if spec["kind"] in ("cli", "fault") and isinstance(result, tuple):
        code, out, err = result
        if spec["expect"] == "ok":
            return ("ok" if code == 0 or code == 130 else "silent"), f"exit {code} ({seconds:.0f} s)"
        if "Traceback" in err or code == "traceback":
            return "traceback", err[-800:]
        if code == 0:
            return "silent", f"exit 0: {out[-300:]}"
        message = err.strip().splitlines()[-1] if err.strip() else ""
        missing = [m for m in spec["mentions"] if m not in err]
        argparse_error = message.startswith("keras-mtl") and ": error: " in message
        if code != 2 or not (message.startswith("error:") or argparse_error):
            return "unclear", f"exit {code}: {err[-300:]}"
        return ("unclear" if missing else "refused"), message
    if spec["expect"] == "ok":
        return "ok", f"({seconds:.0f} s)"
    return "silent", f"accepted: {str(result)[:200]}"


def main(argv=None):
    global _CTX
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="Run the cases whose name has this.")
    parser.add_argument("--json", default=None, help="Write every case's outcome here.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as root:
        print(f"Building the tiny run in {root} ...", flush=True)
        _CTX = ctx = build(root)
        rows = []
        for spec in CASES:
            if args.only and args.only not in spec["name"]:
                continue
            result, detail = outcome(spec, ctx)
            rows.append({"name": spec["name"], "kind": spec["kind"], "outcome": result,
                         "detail": detail})
            print(f"{result:9s} {spec['name']}: {detail.splitlines()[-1] if detail else ''}"[:220],
                  flush=True)
    counts = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    kinds = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    failures = sum(counts.get(k, 0) for k in ("traceback", "silent", "unclear", "hang",
                                              "overwrote"))
    summary = (
        f"{len(rows)} cases ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}): "
        f"{counts.get('refused', 0)} refused clearly, {counts.get('ok', 0)} worked as they "
        f"must; {counts.get('traceback', 0)} tracebacks, {counts.get('silent', 0)} silent, "
        f"{counts.get('unclear', 0)} unclear, {counts.get('hang', 0)} hangs, "
        f"{counts.get('overwrote', 0)} overwritten."
    )
    print(summary)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "cases": rows}, f, indent=2)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
