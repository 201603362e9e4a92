"""The exceptions keras_mtl raises for input it cannot use (pure Python).

Every class derives from `KerasMTLError` and from the built-in exception a caller
would catch without knowing keras_mtl (`ValueError`, `FileExistsError`), so
`except ValueError` keeps working. The `keras-mtl` command turns each of them into
one line on stderr and exit code 2; anything else is a bug and keeps its traceback.

>>> issubclass(DataError, ValueError)
True
>>> str(DataError("not valid UTF-8", path="train.jsonl", line=3))
'train.jsonl:3: not valid UTF-8'
"""


class KerasMTLError(Exception):
    """Base class: a refusal with a message that names the problem and its fix."""


class ConfigError(KerasMTLError, ValueError):
    """A training config or command-line option that cannot be used; the message
    names the bad field."""


class DataError(KerasMTLError, ValueError):
    """A data file or in-memory dataset that cannot be read: names the file and line
    (`path:line: message`) when there is one."""

    def __init__(self, message, path=None, line=None):
        self.path, self.line = path, line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class InputError(KerasMTLError, ValueError, TypeError):
    """Bad runtime input to a model or runtime (texts, labels, weights): names the
    example or key. Also a `TypeError`, for inputs of the wrong type."""


class ArtifactError(KerasMTLError, ValueError):
    """A saved model, export or bundle that is missing, incomplete, corrupt or of
    another kind than the command expects; says what the path holds and what to run."""


class OutputExistsError(KerasMTLError, FileExistsError):
    """A writer that would overwrite something it did not write itself."""


__all__ = [
    "ArtifactError", "ConfigError", "DataError", "InputError", "KerasMTLError",
    "OutputExistsError",
]
