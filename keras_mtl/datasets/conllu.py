"""CoNLL-U treebanks (Universal Dependencies): tags and dependency trees.

A CoNLL-U file holds one sentence per block of lines, blocks separated by blank
lines; each word line has 10 tab-separated fields
(ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC) and lines starting with `#`
are comments (https://universaldependencies.org/format.html).

The reader keeps the basic dependency tree, so an example is the sentence's
*syntactic words*: the lines whose ID is an integer. Multiword-token lines
(ID a range such as `3-4`, the surface token "don't") and empty nodes (ID a
decimal such as `8.1`, used only by the enhanced graph) are skipped, exactly as
the basic tree skips them. The text is therefore "do n't" where the raw sentence
reads "don't", and `Al - Zaman` where it reads "Al-Zaman": one space-separated
word per tag and per head.

Every file is validated strictly, each error naming `file:line`: 10 fields,
integer IDs 1..n in order, integer HEADs in 0..n, exactly one root, no cycle,
no whitespace or empty field, valid UTF-8.
"""

import glob
import os
import re

from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.datasets.text_lines import text_lines
from keras_mtl.errors import ConfigError, DataError

FIELDS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
COLUMNS = ("upos", "xpos", "parse")
DEFAULT_TASKS = {"upos": "upos", "xpos": "xpos", "parse": "parse"}
SPLITS = ("train", "dev", "test")

_WORD_ID = re.compile(r"[0-9]+")
_RANGE_ID = re.compile(r"[0-9]+-[0-9]+")
_EMPTY_NODE_ID = re.compile(r"[0-9]+\.[0-9]+")
_HEAD = re.compile(r"-?[0-9]+")


def _task_columns(tasks, path):
    if tasks is None:
        tasks = dict(DEFAULT_TASKS)
    elif isinstance(tasks, (list, tuple)):
        tasks = {task: task for task in tasks}
    unknown = sorted(set(tasks.values()) - set(COLUMNS))
    if unknown:
        raise ConfigError(
            f"{path}: no CoNLL-U column(s) {unknown}; available: {list(COLUMNS)}."
        )
    return tasks


class _Sentence:
    """The word lines of one sentence, checked as they come and as a tree at the end."""

    def __init__(self, path):
        self.path = path
        self.start = None  # line of the first word, multiword or empty-node line
        self.words = []  # (line number, fields)

    def add(self, number, line):
        path = self.path
        fields = line.split("\t")
        if len(fields) != len(FIELDS):
            raise DataError(
                f"expected {len(FIELDS)} tab-separated fields, "
                f"got {len(fields)}: {line!r}.",
                path, number,
            )
        for name, value in zip(FIELDS, fields):
            if not value:
                raise DataError(f"empty {name} field (use '_'): {line!r}.", path, number)
        if self.start is None:
            self.start = number
        word_id = fields[0]
        if _RANGE_ID.fullmatch(word_id) or _EMPTY_NODE_ID.fullmatch(word_id):
            return  # multiword token or empty node: not part of the basic tree
        if not _WORD_ID.fullmatch(word_id):
            raise DataError(f"ID {word_id!r} is not an integer.", path, number)
        if int(word_id) != len(self.words) + 1:
            raise DataError(
                f"ID {word_id} out of order; expected "
                f"{len(self.words) + 1} (IDs run 1..n within a sentence).",
                path, number,
            )
        form = fields[1]
        if any(char.isspace() for char in form):
            raise DataError(
                f"FORM {form!r} contains whitespace; a word must be "
                "one space-separated token of the text.",
                path, number,
            )
        if not _HEAD.fullmatch(fields[6]):
            raise DataError(f"HEAD {fields[6]!r} is not an integer.", path, number)
        self.words.append((number, fields))

    def finish(self):
        """`(text, {column: label})`, after checking the heads form one tree."""
        path, words = self.path, self.words
        if not words:
            raise DataError("sentence has no words (integer IDs).", path, self.start)
        n = len(words)
        heads = [int(fields[6]) for _, fields in words]
        roots = []
        for (number, _), head in zip(words, heads):
            if not 0 <= head <= n:
                raise DataError(
                    f"HEAD {head} out of range 0..{n} "
                    f"(the sentence has {n} words).",
                    path, number,
                )
            if head == 0:
                roots.append(number)
        if not roots:
            raise DataError(
                "sentence has no root (no word with HEAD 0).",
                path, words[0][0],
            )
        if len(roots) > 1:
            raise DataError(
                f"second root of the sentence (HEAD 0 also at line "
                f"{roots[0]}); a tree has exactly one.",
                path, roots[1],
            )
        cycle_line = _line_in_cycle(heads, words)
        if cycle_line is not None:
            raise DataError("HEAD makes a cycle; heads must form a tree.", path, cycle_line)

        def tags(index):
            values = [fields[index] for _, fields in words]
            return None if "_" in values else values

        relations = [fields[7] for _, fields in words]
        parse = None if "_" in relations else list(zip(heads, relations))
        text = " ".join(fields[1] for _, fields in words)
        return text, {"upos": tags(3), "xpos": tags(4), "parse": parse}


def _line_in_cycle(heads, words):
    """The line of a word on a cycle of `heads` (1-based, 0 = root), or None."""
    state = [0] * (len(heads) + 1)  # 0 unseen, 1 on the current path, 2 reaches the root
    state[0] = 2
    for start in range(1, len(heads) + 1):
        path, node = [], start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node - 1]
        if state[node] == 1:
            return words[node - 1][0]
        for node in path:
            state[node] = 2
    return None


def read_conllu(path, tasks=None, name=None):
    """A `LabeledTexts` with one example per sentence of a CoNLL-U file.

    The text is the sentence's syntactic words joined by single spaces
    (multiword tokens and empty nodes skipped: "don't" reads "do n't"). Columns:

    * `"upos"`, `"xpos"`: one tag per word;
    * `"parse"`: one `(head, deprel)` per word, `head` 0 for the root or the
      1-based index of the head word, `deprel` the full DEPREL (subtypes kept,
      e.g. `"nmod:poss"`).

    A `"_"` in a sentence's UPOS, XPOS or DEPREL column makes that sentence's
    label for that column `None` (missing). HEADs must always be integers that
    form a tree with one root.

    Args:
        path: the `.conllu` file.
        tasks: task name → column (a list means same names); default
            `{"upos": "upos", "xpos": "xpos", "parse": "parse"}`.
        name: a short name for messages (default: the path).

    Raises:
        DataError: naming `path:line` for any malformed line or tree, a byte
            that is not UTF-8, a missing file or a folder.

    Example:

    >>> import tempfile
    >>> lines = ["# text = I don't know.",
    ...          "1\\tI\\tI\\tPRON\\tPRP\\t_\\t4\\tnsubj\\t_\\t_",
    ...          "2-3\\tdon't\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\t_",
    ...          "2\\tdo\\tdo\\tAUX\\tVBP\\t_\\t4\\taux\\t_\\t_",
    ...          "3\\tn't\\tnot\\tPART\\tRB\\t_\\t4\\tadvmod\\t_\\t_",
    ...          "4\\tknow\\tknow\\tVERB\\tVB\\t_\\t0\\troot\\t_\\t_",
    ...          "5\\t.\\t.\\tPUNCT\\t.\\t_\\t4\\tpunct\\t_\\t_"]
    >>> with tempfile.NamedTemporaryFile("w", suffix=".conllu", delete=False) as f:
    ...     _ = f.write("\\n".join(lines) + "\\n\\n")
    >>> data = read_conllu(f.name, tasks=["upos", "parse"])
    >>> data.texts
    ["I do n't know ."]
    >>> data.labels["parse"][0][:2]
    [(4, 'nsubj'), (4, 'aux')]
    >>> os.remove(f.name)
    """
    tasks = _task_columns(tasks, path)
    texts, columns = [], {column: [] for column in COLUMNS}
    sentence = _Sentence(path)

    def end_sentence():
        nonlocal sentence
        if sentence.start is not None:
            text, labels = sentence.finish()
            texts.append(text)
            for column, label in labels.items():
                columns[column].append(label)
        sentence = _Sentence(path)

    end = 1  # the line where the file ends (after a final newline, the next one)
    for number, raw in text_lines(path):
        line = raw.rstrip("\r\n")
        end = number + 1 if raw.endswith("\n") else number
        if not line.strip():
            end_sentence()
        elif line.startswith("#"):
            continue
        else:
            sentence.add(number, line)
    end_sentence()  # the last sentence may lack its closing blank line
    if not texts:
        raise DataError("no sentences in the file (empty or comments only).", path, end)
    labels = {task: columns[column] for task, column in tasks.items()}
    return LabeledTexts(texts, labels, name=name or f"{path}")


def _find_split_file(directory, split):
    pattern = os.path.join(directory, f"*-ud-{split}.conllu")
    matches = sorted(glob.glob(pattern))
    if len(matches) > 1:
        raise DataError(f"Several {split} files match {pattern!r}: {matches}.")
    return matches[0] if matches else None


def load_ud(directory=None, train=None, dev=None, test=None, tasks=None, seed=0):
    """A Universal Dependencies treebank as `{split: LabeledTexts}`.

    With `directory`, the splits are the files `*-ud-train.conllu`,
    `*-ud-dev.conllu` and `*-ud-test.conllu` in it (the names UD releases use,
    e.g. `en_ewt-ud-train.conllu`); a train file is required, dev and test are
    read when present. `train`, `dev`, `test` paths override those files.
    Each split is read by `read_conllu`; names are `"ud/train"` etc.

    Args:
        directory: a treebank folder such as `UD_English-EWT`.
        train, dev, test: explicit `.conllu` paths.
        tasks: task name → column, as in `read_conllu`.
        seed: unused; the treebank fixes its splits.

    Example:

    >>> ud = load_ud("UD_English-EWT")  # doctest: +SKIP
    >>> {split: len(data) for split, data in ud.items()}  # doctest: +SKIP
    {'train': 12544, 'dev': 2001, 'test': 2077}
    """
    del seed  # the treebank fixes the splits
    paths = {"train": train, "dev": dev, "test": test}
    if directory is not None:
        if not os.path.isdir(directory):
            raise DataError(f"UD treebank directory {directory!r} does not exist.")
        for split in SPLITS:
            if paths[split] is None:
                paths[split] = _find_split_file(directory, split)
    if paths["train"] is None:
        where = (
            f"no file matching '*-ud-train.conllu' in {directory!r}"
            if directory is not None else "neither `directory` nor `train` given"
        )
        raise DataError(f"UD treebank: no train file ({where}).")
    return {
        split: read_conllu(path, tasks=tasks, name=f"ud/{split}")
        for split, path in paths.items()
        if path is not None
    }
