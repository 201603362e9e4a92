"""The lines of a UTF-8 text file, with errors that name the file and the line.

Every reader (CSV, JSON Lines, CoNLL, CoNLL-U) reads through `text_lines`, so a
missing file, a folder, or a byte that is not UTF-8 is reported the same way:
a `DataError` rendered `path:line: message`. A UTF-8 byte-order mark at the start
of the file is dropped.

Example:

>>> import tempfile
>>> with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
...     _ = f.write(b"caf\\xc3\\xa9\\ncaf\\xe9\\n")
>>> try:
...     _ = list(text_lines(f.name))
... except DataError as error:
...     print(error.line, str(error).split(": ", 1)[1][:60])
2 not valid UTF-8 (byte 0xe9 at column 4), byte 9 of the file.
>>> os.remove(f.name)
"""

import os

from keras_mtl.errors import DataError


def check_file(path):
    """Raises `DataError` unless `path` is an existing regular file."""
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"expected a file path, got {path!r} ({type(path).__name__}).")
    if os.path.isdir(path):
        raise DataError("is a folder, not a file; give the path of a data file in it.", path)
    if not os.path.exists(path):
        raise DataError("no such file; check the path (relative paths start from "
                        f"{os.getcwd()}).", path)


def text_lines(path):
    """`(line number, line)` for every line of `path`, line endings kept.

    Lines are decoded one at a time, so a byte that is not UTF-8 is reported
    with its line, column and offset in the file, and how to fix it.
    """
    check_file(path)
    offset = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise DataError(
                    f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at column "
                    f"{error.start + 1}), byte {offset + error.start} of the file. Save "
                    "the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 old > new).",
                    path, number,
                ) from None
            offset += len(raw)
            yield number, line
