"""Real datasets, loaded from the Python packages that ship them, and readers for
your own files. Every loader returns `{split: LabeledTexts}`."""

from keras_mtl.datasets.atis import load_atis
from keras_mtl.datasets.conll import read_conll
from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.datasets.tables import read_csv, read_jsonl
from keras_mtl.datasets.vader import load_vader
from keras_mtl.datasets.wnut16 import load_wnut16

# Name → loader, for configs (`data.datasets`); each takes `seed=` and options.
DATASETS = {"atis": load_atis, "wnut16": load_wnut16, "vader": load_vader}


def load_dataset(name, seed=0, **options):
    """`{split: LabeledTexts}` of a registered dataset; a clear error for bad names."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; known datasets: {sorted(DATASETS)}.")
    try:
        return DATASETS[name](seed=seed, **options)
    except TypeError as error:
        raise ValueError(f"Bad options {sorted(options)} for dataset {name!r}: {error}") from None


__all__ = [
    "DATASETS", "LabeledTexts", "load_atis", "load_dataset", "load_vader", "load_wnut16",
    "read_conll", "read_csv", "read_jsonl",
]
