"""Real datasets, loaded from the Python packages that ship them, and readers for
your own files. Every loader returns `{split: LabeledTexts}`."""

from keras_mtl.datasets.atis import load_atis
from keras_mtl.datasets.conll import read_conll
from keras_mtl.datasets.conllu import load_ud, read_conllu
from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.datasets.lee import load_lee
from keras_mtl.datasets.tables import read_csv, read_jsonl
from keras_mtl.datasets.vader import load_vader
from keras_mtl.datasets.wnut16 import load_wnut16

# Name → loader, for configs (`data.datasets`); each takes `seed=` and options.
DATASETS = {
    "atis": load_atis, "wnut16": load_wnut16, "vader": load_vader, "ud": load_ud,
    "lee": load_lee,
}


READERS = {
    "conll": read_conll, "conllu": read_conllu, "csv": read_csv, "jsonl": read_jsonl,
}


def load_files(format, train, dev=None, test=None, name="files", seed=0, **reader_options):
    """`{split: LabeledTexts}` from your own files (one per split) in one format.

    Args:
        format: `"conll"`, `"csv"` or `"jsonl"`.
        train, dev, test: file paths (`dev` and `test` optional).
        **reader_options: passed to the reader (e.g. `task="ner"` for CoNLL,
            `tasks=[...]`, `token_tasks=[...]`, `text_field=` for CSV / JSONL).

    Example:

    >>> splits = load_files("jsonl", train="train.jsonl", test="test.jsonl",
    ...                     tasks=["intent"])
    """
    del seed  # the files fix the splits
    if format not in READERS:
        raise ValueError(f"Unknown file format {format!r}; known: {sorted(READERS)}.")
    splits = {}
    for split, path in (("train", train), ("dev", dev), ("test", test)):
        if path is not None:
            splits[split] = READERS[format](path, name=f"{name}/{split}", **reader_options)
    return splits


def load_dataset(name, seed=0, **options):
    """`{split: LabeledTexts}` of a registered dataset, or of your own files when
    `options` has a `format` (see `load_files`); a clear error for bad names."""
    if "format" in options:
        try:
            return load_files(name=name, seed=seed, **options)
        except TypeError as error:
            raise ValueError(f"Bad options {sorted(options)} for dataset {name!r}: {error}") from None
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; known datasets: {sorted(DATASETS)}.")
    try:
        return DATASETS[name](seed=seed, **options)
    except TypeError as error:
        raise ValueError(f"Bad options {sorted(options)} for dataset {name!r}: {error}") from None


__all__ = [
    "DATASETS", "LabeledTexts", "load_atis", "load_dataset", "load_files", "load_lee",
    "load_ud", "load_vader", "load_wnut16",
    "read_conll", "read_conllu", "read_csv", "read_jsonl",
]
