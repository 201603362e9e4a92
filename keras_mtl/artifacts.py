"""What a model path holds, and an `ArtifactError` for what it is not (pure Python).

keras_mtl writes three kinds of artefact: a `.keras` file (inside a run folder from
`keras-mtl train`), a SavedModel version folder (`keras-mtl export RUN --output DIR`)
and an edge bundle folder (`keras-mtl export RUN --format edge --output DIR`). Every
reader (`keras_mtl.load_model`, `EdgeModel`, `SavedModelClient`, `keras-mtl
predict`) asks `artifact_kind` first, so a path of another kind (a bare `.onnx`
graph, a foreign SavedModel, an empty folder, a half-written export) gets one line
that says what it is and what to run instead.

>>> import tempfile
>>> artifact_kind(tempfile.mkdtemp())
Traceback (most recent call last):
...
keras_mtl.errors.ArtifactError: ... holds no model (it is empty): give a run folder from `keras-mtl train` (with model.keras), a .keras file, a SavedModel version folder or an edge bundle folder.
"""

import json
import os

from keras_mtl.errors import ArtifactError
from keras_mtl.outputs import describe_contents

KERAS_FILE = "model.keras"
BUNDLE_FILE = "bundle.json"
SAVED_MODEL_FILE = "saved_model.pb"
SAVED_MODEL_METADATA = os.path.join("assets.extra", "keras_mtl.json")

EXPORT_EDGE = "`keras-mtl export RUN --format edge --output DIR`"
EXPORT_SAVED_MODEL = "`keras-mtl export RUN --output DIR`"
ANY_MODEL = (
    "give a run folder from `keras-mtl train` (with model.keras), a .keras file, a "
    "SavedModel version folder or an edge bundle folder"
)


def artifact_kind(path):
    """`"keras"` (a file, or a run folder holding `model.keras`), `"saved_model"`
    or `"edge"`; an `ArtifactError` saying what `path` is otherwise. Files are
    not opened here (`keras_mtl.load_model` checks the archive)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ArtifactError(f"{path} does not exist: {ANY_MODEL}.")
    if os.path.isfile(path):
        name = os.path.basename(path)
        if name.lower().endswith(".onnx"):
            raise ArtifactError(bare_onnx_message(path))
        if name in (SAVED_MODEL_FILE, BUNDLE_FILE):
            raise ArtifactError(f"{path} is one file of an export: give its folder, "
                                f"{os.path.dirname(path) or '.'}.")
        return "keras"
    names = set(os.listdir(path))
    if BUNDLE_FILE in names:
        return "edge"
    if SAVED_MODEL_FILE in names:
        return "saved_model"
    if KERAS_FILE in names:
        return "keras"
    if "config.json" in names and names & {"history.csv", "backup"}:
        raise ArtifactError(
            f"{path} is a training run that has not finished (no {KERAS_FILE} yet): run "
            "the same `keras-mtl train` command again to resume it."
        )
    if names & {"model.onnx", "vocab.txt"}:
        raise ArtifactError(
            f"{path} is an incomplete edge bundle: it has {describe_contents(path)} but no "
            f"{BUNDLE_FILE}. Re-export it with {EXPORT_EDGE}."
        )
    if names & {"variables", "assets.extra", "fingerprint.pb"}:
        raise ArtifactError(
            f"{path} is an incomplete SavedModel: it has {describe_contents(path)} but no "
            f"{SAVED_MODEL_FILE}. Re-export it with {EXPORT_SAVED_MODEL}."
        )
    versions = sorted(n for n in names if os.path.isfile(os.path.join(path, n, SAVED_MODEL_FILE)))
    if versions:
        raise ArtifactError(
            f"{path} holds SavedModel versions ({', '.join(versions)}): give one version "
            f"folder, e.g. {os.path.join(path, versions[-1])}."
        )
    holds = f"it has {describe_contents(path)}" if names else "it is empty"
    raise ArtifactError(f"{path} holds no model ({holds}): {ANY_MODEL}.")


def bare_onnx_message(path):
    return (
        f"{path} is a bare ONNX graph (token ids in, scores out): predict from an edge "
        f"bundle instead ({EXPORT_EDGE}, then `keras-mtl predict DIR TEXT`), or run it "
        "with onnxruntime yourself."
    )


def read_json(path, what, fix):
    """The JSON object in file `path`; an `ArtifactError` naming `what` and the
    `fix` when it is missing, unreadable, not JSON or not an object."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing: {what} is incomplete. {fix}") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ArtifactError(
            f"{path} is not readable JSON ({first_line(error)}): {what} is corrupt. {fix}"
        ) from None
    if not isinstance(value, dict):
        raise ArtifactError(
            f"{path} holds a JSON {type(value).__name__}, not an object: {what} is "
            f"corrupt. {fix}"
        )
    return value


def check_format(config, path, known, fix):
    """Refuses a `"format"` other than `known`: newer (upgrade keras_mtl) or older
    or absent (re-export)."""
    found = config.get("format")
    if found == known:
        return
    if isinstance(found, int) and not isinstance(found, bool) and found > known:
        raise ArtifactError(
            f"{path}: format {found} is newer than this keras_mtl reads ({known}): "
            f"upgrade keras_mtl, or re-export with this version ({fix})."
        )
    raise ArtifactError(
        f"{path}: format {found!r}; this keras_mtl reads format {known}. Re-export "
        f"it with {fix}."
    )


def read_tasks(config, path, fix):
    """`TaskDescription`s of an export's `"tasks"` list; an `ArtifactError` naming
    the entry otherwise."""
    from keras_mtl.tasks.description import TaskDescription

    entries = config.get("tasks")
    if not isinstance(entries, list) or not entries:
        raise ArtifactError(
            f"{path} has no list of tasks: the export is corrupt. Re-export it with {fix}."
        )
    tasks = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ArtifactError(f"{path}: tasks[{i}] is not an object. Re-export it with {fix}.")
        try:
            tasks.append(TaskDescription.from_dict(entry))
        except (ValueError, TypeError) as error:
            raise ArtifactError(f"{path}: tasks[{i}]: {error}") from None
    return tasks


def first_line(error):
    """The first line of an exception's message (libraries write pages), or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
