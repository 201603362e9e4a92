"""Writers refuse to clobber and write atomically; the command sorts failures into
one-line errors (exit 2) and bugs (a traceback); best-epoch restore and epoch progress."""

import hashlib
import json
import os

import keras
import numpy as np
import pytest

from keras_mtl import cli
from keras_mtl.callbacks import EpochProgress, RestoreBest
from keras_mtl.config import resolve_config
from keras_mtl.data import make_dataset
from keras_mtl.errors import ConfigError, OutputExistsError
from keras_mtl.outputs import new_directory, new_file, write_json
from keras_mtl.training import claim_output
from tests.conftest import tiny_data, tiny_model


def digest(folder):
    """`{relative path: sha256}` of every file under `folder`."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return found


# === Writers ===


def test_new_directory_is_all_or_nothing(tmp_path):
    target = tmp_path / "bundle"
    with pytest.raises(RuntimeError):
        with new_directory(str(target)) as tmp:
            (tmp_path / "bundle_probe").write_text(tmp)
            open(os.path.join(tmp, "model.onnx"), "w").close()
            raise RuntimeError("the exporter failed")
    assert not target.exists() and os.listdir(tmp_path) == ["bundle_probe"]
    with new_directory(str(target)) as tmp:
        open(os.path.join(tmp, "model.onnx"), "w").close()
    assert os.listdir(target) == ["model.onnx"]
    before = digest(target)
    with pytest.raises(OutputExistsError, match=r"not empty \(model.onnx\)"):
        with new_directory(str(target)):
            pass
    (tmp_path / "a_file").write_text("keep")
    with pytest.raises(FileExistsError, match="is a file"):
        with new_directory(str(tmp_path / "a_file")):
            pass
    assert digest(target) == before and (tmp_path / "a_file").read_text() == "keep"


def test_new_file_refuses_what_exists_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_text("old")
    with pytest.raises(OutputExistsError, match="already exists"):
        with new_file(str(path)):
            pass
    with pytest.raises(ValueError):
        with new_file(str(tmp_path / "new.onnx")) as tmp:
            open(tmp, "w").close()
            raise ValueError("failed")
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"] and path.read_text() == "old"
    write_json(str(tmp_path / "metrics.json"), {"a": 1})
    write_json(str(tmp_path / "metrics.json"), {"a": 2})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"a": 2}


def test_a_run_folder_resumes_only_its_own_config(tmp_path):
    config = resolve_config({"tasks": [{"name": "intent", "type": "classification"}]})
    run = str(tmp_path / "run")
    assert claim_output(run, config) == "new"
    assert claim_output(run, config) == "resume"
    other = resolve_config({"tasks": [{"name": "intent", "type": "classification"}],
                            "training": {"epochs": 5}})
    with pytest.raises(OutputExistsError, match=r"another config \(training.epochs: 3 → 5\)"):
        claim_output(run, other)
    open(os.path.join(run, "model.keras"), "w").close()
    with pytest.raises(OutputExistsError, match="finished run"):
        claim_output(run, config)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"not a keras_mtl run \(todo.txt\)"):
        claim_output(str(tmp_path / "notes"), config)
    assert os.listdir(tmp_path / "notes") == ["todo.txt"]


# === The command's error path ===


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A run folder holding a tiny model's `model.keras`."""
    folder = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    tiny_model().save(str(folder / "model.keras"))
    return folder


@pytest.mark.parametrize("fmt", ["edge", "saved_model", "onnx"])
def test_export_never_overwrites(run_folder, tmp_path, capsys, fmt):
    if fmt == "onnx":
        target = tmp_path / "model.onnx"
        target.write_bytes(b"an older model")
    else:
        target = tmp_path / "out"
        target.mkdir()
        (target / "model.onnx").write_bytes(b"an older model")
        (target / "vocab.txt").write_text("[PAD]\n")
    before = digest(tmp_path)
    code = cli.main(["export", str(run_folder), "--format", fmt, "--output", str(target)])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "nothing was written" in error
    assert "Traceback" not in error
    assert digest(tmp_path) == before


def test_os_errors_are_messages(run_folder, tmp_path, capsys):
    (tmp_path / "a_file").write_text("keep")
    code = cli.main(["export", str(run_folder), "--format", "edge",
                     "--output", str(tmp_path / "a_file" / "bundle")])
    assert code == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'a_file'} is a file, not a folder" in error
    assert "Traceback" not in error
    code = cli.main(["train", str(tmp_path / "a_file")])  # not YAML mapping
    assert code == 2


def test_bugs_keep_their_traceback(run_folder, monkeypatch):
    import keras_mtl.training as training

    def broken(path, split="test"):
        return {}["missing"]  # a KeyError is a bug, never an expected failure

    monkeypatch.setattr(training, "evaluate_run", broken)
    with pytest.raises(KeyError):
        cli.main(["evaluate", str(run_folder)])

    def failing_call(path, split="test"):
        return int("not a number")  # a ValueError raised outside keras_mtl's own raise

    monkeypatch.setattr(training, "evaluate_run", failing_call)
    with pytest.raises(ValueError):
        cli.main(["evaluate", str(run_folder)])


# === Best epoch and progress ===


class RecordWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([np.array(w) for w in self.model.get_weights()])


@pytest.mark.parametrize("keep_on_disk", [False, True])
def test_restore_best_keeps_the_best_dev_epoch(tmp_path, keep_on_disk):
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(keras.optimizers.Adam(0.05))  # large steps: the dev loss moves around
    train = make_dataset(model.preprocessor, tiny_data(4), batch_size=4, shuffle=True, seed=0)
    dev = make_dataset(model.preprocessor, tiny_data(), batch_size=4)
    record = RecordWeights()
    best = RestoreBest("val_loss", directory=str(tmp_path / "best") if keep_on_disk else None)
    history = model.fit(train, validation_data=dev, epochs=4, callbacks=[record, best],
                        verbose=0)
    losses = history.history["val_loss"]
    assert best.best_epoch == 1 + int(np.argmin(losses))
    for kept, now in zip(record.weights[best.best_epoch - 1], model.get_weights()):
        np.testing.assert_array_equal(kept, np.asarray(now))
    with pytest.raises(ConfigError, match="'training.monitor' is 'val_f1'"):
        model.fit(train, validation_data=dev, epochs=1, verbose=0,
                  callbacks=[RestoreBest("val_f1")])


def test_epoch_progress_lines():
    lines = []
    progress = EpochProgress(3, log=lines.append)
    progress.set_model(tiny_model())
    for epoch in range(3):
        progress.on_epoch_begin(epoch)
        progress.on_epoch_end(epoch)
    progress.on_train_end()
    assert [line.split(" took")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert "left" in lines[0] and "left" not in lines[2]
