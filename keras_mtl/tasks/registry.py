"""The registry of task types: `register_task_type`, `get_task_type`."""

import importlib

from keras_mtl.tasks.task_type import REQUIRED_METHODS, TaskType

TASK_TYPES = {}
"""Registered task types by name."""


def register_task_type(task_type, replace=False):
    """Registers a `TaskType` instance (or class) under its `name`; returns it.

    The type must define `name`, `primary_metric` and every method the base class
    leaves abstract; a missing one is named in the error. Register your type
    before building or loading a model that uses it (as with custom Keras layers).

    Example:

    >>> from keras_mtl.tasks import ClassificationType, register_task_type
    >>> class Language(ClassificationType):
    ...     name = "language"
    >>> _ = register_task_type(Language())
    """
    if isinstance(task_type, type):
        task_type = task_type()
    if not isinstance(task_type, TaskType):
        raise ValueError(
            f"register_task_type takes a TaskType subclass or instance, got {task_type!r}."
        )
    name = task_type.name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"{type(task_type).__name__}.name must be an identifier-like string, got {name!r}."
        )
    missing = [
        method for method in REQUIRED_METHODS
        if getattr(type(task_type), method) is getattr(TaskType, method)
    ]
    if missing:
        raise ValueError(
            f"Task type {name!r} ({type(task_type).__name__}) does not implement "
            f"{missing}; see keras_mtl.tasks.TaskType."
        )
    metric = task_type.primary_metric
    if not (isinstance(metric, tuple) and len(metric) == 2 and isinstance(metric[0], str)
            and isinstance(metric[1], bool)):
        raise ValueError(
            f"Task type {name!r}: primary_metric must be (metric name, higher_is_better), "
            f"got {metric!r}."
        )
    if name in TASK_TYPES and not replace and type(TASK_TYPES[name]) is not type(task_type):
        raise ValueError(
            f"A task type named {name!r} is already registered "
            f"({type(TASK_TYPES[name]).__name__}); pass replace=True to replace it."
        )
    TASK_TYPES[name] = task_type
    return task_type


def get_task_type(name, module=None):
    """The registered `TaskType` called `name`.

    `module`: where the type is defined (artefacts record it); imported when the
    type is not registered yet.
    """
    if isinstance(name, TaskType):
        return name
    if isinstance(name, str) and name not in TASK_TYPES and module:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    try:
        return TASK_TYPES[name]
    except (KeyError, TypeError):
        hint = f" (recorded in module {module!r}, which could not register it)" if module else ""
        raise ValueError(
            f"Unknown task type {name!r}{hint}. Known types: {sorted(TASK_TYPES)}. "
            "A type of your own must be registered with "
            "keras_mtl.tasks.register_task_type before use."
        ) from None
