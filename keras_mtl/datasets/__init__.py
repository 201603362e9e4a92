"""Real datasets, loaded from the Python packages that ship them, and readers for
your own files. Every loader returns `{split: LabeledTexts}`."""

import inspect

from keras_mtl.datasets.atis import load_atis
from keras_mtl.datasets.bible import load_bible
from keras_mtl.datasets.conll import read_conll
from keras_mtl.datasets.conllu import load_ud, read_conllu
from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.datasets.lee import load_lee
from keras_mtl.datasets.tables import read_csv, read_jsonl
from keras_mtl.datasets.vader import load_vader
from keras_mtl.datasets.wnut16 import load_wnut16
from keras_mtl.errors import ConfigError

# Name → loader, for configs (`data.datasets`); each takes `seed=` and options.
DATASETS = {
    "atis": load_atis, "wnut16": load_wnut16, "vader": load_vader, "ud": load_ud,
    "lee": load_lee, "bible": load_bible,
}


READERS = {
    "conll": read_conll, "conllu": read_conllu, "csv": read_csv, "jsonl": read_jsonl,
}


def load_files(format, train, dev=None, test=None, name="files", seed=0, **reader_options):
    """`{split: LabeledTexts}` from your own files (one per split) in one format.

    Args:
        format: `"conll"`, `"conllu"`, `"csv"` or `"jsonl"`.
        train, dev, test: file paths (`dev` and `test` optional).
        **reader_options: passed to the reader (e.g. `task="ner"` for CoNLL,
            `tasks=[...]`, `token_tasks=[...]`, `text_field=` for CSV / JSONL).

    Example:

    ```python
    splits = load_files("jsonl", train="train.jsonl", test="test.jsonl",
                        tasks=["intent"])
    ```
    """
    del seed  # the files fix the splits
    _check_reader_options(format, reader_options)
    splits = {}
    for split, path in (("train", train), ("dev", dev), ("test", test)):
        if path is not None:
            splits[split] = READERS[format](path, name=f"{name}/{split}", **reader_options)
    return splits


def load_dataset(name, seed=0, **options):
    """`{split: LabeledTexts}` of a registered dataset, or of your own files when
    `options` has a `format` (see `load_files`).

    Raises:
        ConfigError: an unknown dataset name or format, or an option the loader
            does not take.
        DataError: a file that cannot be read (`path:line: message`).
    """
    check_dataset_options(name, options)
    if "format" in options:
        return load_files(name=name, seed=seed, **options)
    return DATASETS[name](seed=seed, **options)


def check_dataset_options(name, options):
    """Raises `ConfigError` unless `load_dataset(name, **options)` names a known
    dataset (or a file format) with options its loader takes; reads no file."""
    if "format" in options:
        check_options(load_files, options, f"dataset {name!r}", skip=("name", "seed"))
        reader_options = {
            key: value for key, value in options.items()
            if key not in ("format", "train", "dev", "test")
        }
        _check_reader_options(options["format"], reader_options)
        return
    if not isinstance(name, str) or name not in DATASETS:
        raise ConfigError(
            f"Unknown dataset {name!r}; known datasets: {sorted(DATASETS)}, or give "
            "`format` and `train` to read your own files."
        )
    check_options(DATASETS[name], options, f"dataset {name!r}", skip=("seed",))


def _check_reader_options(format, reader_options):
    if not isinstance(format, str) or format not in READERS:
        raise ConfigError(f"Unknown file format {format!r}; known: {sorted(READERS)}.")
    check_options(READERS[format], reader_options, f"{format} files", skip=("path", "name"))


def check_options(loader, options, what, skip=()):
    """Raises `ConfigError` if `options` has a key `loader` does not take (or
    lacks one it requires); `skip` names arguments the caller fills in."""
    parameters = inspect.signature(loader).parameters
    taken = [
        name for name, p in parameters.items()
        if name not in skip and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(set(options) - set(taken))
    if unknown and not takes_any:
        raise ConfigError(f"{what} takes no option(s) {unknown}; it takes {taken}.")
    missing = [
        name for name in taken
        if parameters[name].default is inspect.Parameter.empty and name not in options
    ]
    if missing:
        raise ConfigError(f"{what} needs option(s) {missing}.")


__all__ = [
    "DATASETS", "LabeledTexts", "check_dataset_options", "check_options", "load_atis",
    "load_bible", "load_dataset", "load_files",
    "load_lee", "load_ud", "load_vader", "load_wnut16",
    "read_conll", "read_conllu", "read_csv", "read_jsonl",
]
