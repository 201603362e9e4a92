"""Multi-task models and their preprocessor."""

from keras_mtl.models.multi_task_model import MultiTaskModel
from keras_mtl.models.multi_task_preprocessor import MultiTaskPreprocessor
from keras_mtl.models.task_weights import TaskWeights


def load_model(path, compile=True):
    """Loads a `.keras` file saved from a `MultiTaskModel`, on any backend.

    Raises `keras_mtl.errors.ArtifactError` for a path that is not such a file:
    missing, a folder (a run folder, a SavedModel, an edge bundle), a bare `.onnx`
    graph, an empty or truncated archive, or another kind of Keras model.
    """
    import os
    import zipfile

    import keras

    from keras_mtl import artifacts
    from keras_mtl.errors import ArtifactError

    path = os.fspath(path)
    kind = artifacts.artifact_kind(path)
    if os.path.isdir(path):
        advice = {
            "keras": f"it is a run folder: load {os.path.join(path, artifacts.KERAS_FILE)} "
                     "(or keras_mtl.training.load_run)",
            "saved_model": "it is a SavedModel (an export for serving, not loadable into "
                           "Keras): predict from it with `keras-mtl predict` or "
                           "keras_mtl.export.saved_model_client.SavedModelClient, or "
                           "load the run's model.keras",
            "edge": "it is an edge bundle: run it with keras_mtl.edge.EdgeModel, or load "
                    "the run's model.keras",
        }[kind]
        raise ArtifactError(f"{path} is a folder, not a .keras file: {advice}.")
    if os.path.getsize(path) == 0 or not zipfile.is_zipfile(path):
        empty = "empty (0 bytes)" if os.path.getsize(path) == 0 else "not a zip archive"
        raise ArtifactError(
            f"{path} is not a readable Keras archive (empty or truncated?): it is {empty}. "
            "Save the model again (model.save), or train the run again."
        )
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    if "config.json" not in names:
        raise ArtifactError(
            f"{path} is a zip archive but not a Keras model (no config.json inside)."
        )
    try:
        model = keras.saving.load_model(path, compile=compile)
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ArtifactError(
            f"{path} is not a readable Keras archive (empty or truncated?): {error}"
        ) from None
    if not isinstance(model, MultiTaskModel):
        raise ArtifactError(
            f"{path} holds a {type(model).__name__}, not a keras_mtl MultiTaskModel: "
            "load it with keras.saving.load_model."
        )
    return model


__all__ = ["MultiTaskModel", "MultiTaskPreprocessor", "TaskWeights", "load_model"]
