import importlib

import keras_hub

import keras_mtl


def test_keras_nlp_alias_still_imports():
    keras_nlp = importlib.import_module("keras_nlp")
    assert keras_nlp.models.BertBackbone is keras_hub.models.BertBackbone


def test_public_names_resolve():
    for name in keras_mtl.__all__:
        assert getattr(keras_mtl, name) is not None
    assert keras_mtl.__version__ == "0.1.0"


def test_no_module_outside_tasks_branches_on_a_task_type_name():
    """Each type owns its behaviour: its name appears only in `keras_mtl/tasks/`."""
    import ast
    import pathlib

    from keras_mtl.tasks import TASK_TYPES

    package = pathlib.Path(__file__).resolve().parents[1] / "keras_mtl"
    found = []
    for path in package.rglob("*.py"):
        if path.parent.name == "tasks":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in TASK_TYPES:
                found.append(f"{path.relative_to(package)}:{node.lineno} {node.value!r}")
    assert not found, found
