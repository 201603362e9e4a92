"""Writers that never clobber and never leave half a file (pure Python).

Every artefact keras_mtl writes goes through one of these:

- `new_directory(path)`: a folder that must not exist yet (or be empty). The block
  writes into a temporary sibling folder, which is renamed to `path` when the block
  ends without error and deleted when it fails, so `path` is either complete or
  absent.
- `new_file(path)`: the same for one file.
- `replace_file(path)`: a file that the caller owns (a run's `metrics.json`):
  written beside, then renamed over the old one in one step.

A path that exists and holds something raises `OutputExistsError` (a
`FileExistsError`), naming what is there.

>>> import os, tempfile
>>> root = tempfile.mkdtemp()
>>> with new_directory(os.path.join(root, "bundle")) as tmp:
...     open(os.path.join(tmp, "a.txt"), "w").close()
>>> os.listdir(os.path.join(root, "bundle"))
['a.txt']
>>> with new_directory(os.path.join(root, "bundle")) as tmp:
...     pass
Traceback (most recent call last):
...
keras_mtl.errors.OutputExistsError: ... is a folder that is not empty (a.txt); ...
"""

import contextlib
import os
import shutil
import tempfile

from keras_mtl.errors import OutputExistsError


def describe_contents(path, limit=4):
    """`'a, b, c and 2 more'`: the first entries of folder `path`."""
    names = sorted(os.listdir(path))
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_new_directory(path, what="output"):
    """Raises `OutputExistsError` unless `path` is absent or an empty folder (in a
    place where a folder can be made)."""
    _check_ancestors(path)
    if os.path.isdir(path):
        if os.listdir(path):
            raise OutputExistsError(
                f"{what} {path} is a folder that is not empty ({describe_contents(path)}); "
                "nothing was written. Choose a new folder or delete this one."
            )
    elif os.path.lexists(path):
        raise OutputExistsError(
            f"{what} {path} exists and is a file, not a folder; nothing was written. "
            "Choose another path."
        )


def check_new_file(path, what="output"):
    """Raises `OutputExistsError` if something exists at `path` (or a file stands
    where one of its folders should be)."""
    _check_ancestors(path)
    if os.path.lexists(path):
        kind = "a folder" if os.path.isdir(path) else "a file"
        raise OutputExistsError(
            f"{what} {path} already exists ({kind}); nothing was written. Choose a new "
            "path or delete it."
        )


def _check_ancestors(path):
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise OutputExistsError(
            f"cannot write {path}: {ancestor} is a file, not a folder. Choose another path."
        )


def _parent(path):
    """The folder that will hold `path`, created if needed."""
    _check_ancestors(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    return parent


@contextlib.contextmanager
def new_directory(path, what="output"):
    """Yields a temporary folder that becomes `path` when the block succeeds."""
    check_new_directory(path, what)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(path))}.partial-",
                           dir=_parent(path))
    try:
        yield tmp
        check_new_directory(path, what)  # nothing appeared there meanwhile
        if os.path.isdir(path):
            os.rmdir(path)
        os.rename(tmp, path)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _temporary_file(path):
    """A new file beside `path`, named `.partial-XXXX-<name>` (it keeps every
    suffix, e.g. `.weights.h5`, that writers check)."""
    base = os.path.basename(os.path.abspath(path))
    return tempfile.mkstemp(prefix=".partial-", suffix=f"-{base}", dir=_parent(path))


@contextlib.contextmanager
def new_file(path, what="output"):
    """Yields a temporary file path (same suffixes) that becomes `path` on success."""
    check_new_file(path, what)
    fd, tmp = _temporary_file(path)
    os.close(fd)
    os.unlink(tmp)  # writers such as `model.save` want to create the file themselves
    try:
        yield tmp
        check_new_file(path, what)
        os.rename(tmp, path)
    finally:
        if os.path.lexists(tmp):
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.unlink(tmp)


@contextlib.contextmanager
def replace_file(path):
    """Yields a temporary path; renamed over `path` (which the caller owns) on success."""
    fd, tmp = _temporary_file(path)
    os.close(fd)
    os.unlink(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_json(path, value, replace=True):
    """Writes `value` as indented JSON at `path`, atomically."""
    import json

    with (replace_file(path) if replace else new_file(path)) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2)
            f.write("\n")
    return path


__all__ = [
    "check_new_directory", "check_new_file", "new_directory", "new_file", "replace_file",
    "write_json",
]
