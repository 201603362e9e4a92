"""Runs an exporter in a TensorFlow-backend process, for models built on JAX or PyTorch.

Both exporters trace the model as a TensorFlow graph. A model that lives on
another backend is saved to a `.keras` file, which a fresh process with
`KERAS_BACKEND=tensorflow` loads and exports (weights are backend-neutral). The
modules that define the model's task types are imported there first, so task
types of your own export like the built-in ones.
"""

import json
import os
import subprocess
import sys
import tempfile


def task_type_modules(model):
    """The modules that define `model`'s task types, for a fresh process to import."""
    return sorted({type(spec.task_type).__module__ for spec in model.tasks})


def export_through_tensorflow(model, exporter, path, **options):
    """Calls `keras_mtl.export.<exporter>(model, path, **options)` under TensorFlow."""
    with tempfile.TemporaryDirectory() as tmp:
        keras_path = os.path.join(tmp, "model.keras")
        model.save(keras_path)
        modules = task_type_modules(model)
        # The child sees the parent's import path: a task type defined in a
        # user's module (or a test file) imports there as it does here.
        env = dict(os.environ, KERAS_BACKEND="tensorflow",
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        code = (
            "import importlib, json, sys, keras_mtl, keras_mtl.export as export\n"
            "for module in json.loads(sys.argv[4]): importlib.import_module(module)\n"
            f"getattr(export, {exporter!r})(keras_mtl.load_model(sys.argv[1]), sys.argv[2], "
            "**json.loads(sys.argv[3]))\n"
        )
        command = [sys.executable, "-c", code, keras_path, os.path.abspath(path),
                   json.dumps(options), json.dumps(modules)]
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{exporter} through a TensorFlow process failed:\n{result.stderr[-3000:]}"
        )
    return path
