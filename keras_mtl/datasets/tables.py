"""Bring your own data: CSV and JSON Lines files with a text and label fields.

Both readers return the `LabeledTexts` that the built-in loaders return, so your
data mixes with ATIS, WNUT-2016 and VADER in one model. An empty or missing
field is a missing label (`None`: no loss for that task on that text).

Token-level labels: in JSON Lines a list of tags (one per whitespace-separated
word); in CSV a string of tags separated by spaces. Name such columns in
`token_tasks` so the readers split them.

Text pairs (for `TaskSpec(..., text_pair=True)`): `pair_field` names the column
of the second text (hypothesis, sentence 2, passage); an empty field means the
example has one text.
"""

import csv
import json

from keras_mtl.datasets.labeled_texts import LabeledTexts


def _task_columns(tasks, fields, text_field, path, pair_field=None):
    if pair_field is not None and pair_field not in fields:
        raise ValueError(f"{path}: no pair field {pair_field!r}; it has {sorted(fields)}.")
    if tasks is None:
        tasks = {field: field for field in fields if field not in (text_field, pair_field)}
    elif isinstance(tasks, (list, tuple)):
        tasks = {task: task for task in tasks}
    unknown = sorted(set(tasks.values()) - set(fields))
    if unknown:
        raise ValueError(f"{path}: no field(s) {unknown}; it has {sorted(fields)}.")
    if text_field not in fields:
        raise ValueError(f"{path}: no text field {text_field!r}; it has {sorted(fields)}.")
    return tasks


def _label(value, token_level):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if token_level and isinstance(value, str):
        return value.split()
    return value


def _build(rows, path, text_field, tasks, token_tasks, name, pair_field=None):
    if not rows:
        raise ValueError(f"{path}: no rows.")
    tasks = _task_columns(tasks, list(rows[0]), text_field, path, pair_field)
    texts = [row.get(text_field) or "" for row in rows]
    labels = {
        task: [_label(row.get(field), task in token_tasks) for row in rows]
        for task, field in tasks.items()
    }
    pairs = None if pair_field is None else [row.get(pair_field) or None for row in rows]
    return LabeledTexts(texts, labels, name=name or path, pairs=pairs)


def read_csv(path, text_field="text", tasks=None, token_tasks=(), name=None, pair_field=None,
             **csv_options):
    """A `LabeledTexts` from a CSV file with a header row.

    Args:
        text_field: the column holding the text.
        tasks: task name → column (a list means same names); default every
            other column.
        token_tasks: tasks whose column holds space-separated per-word tags.
        pair_field: the column of the second text, for text-pair tasks.
        **csv_options: passed to `csv.DictReader` (e.g. `delimiter="\\t"`).

    Example (`reviews.csv` with columns `text,sentiment`):

    >>> data = read_csv("reviews.csv", tasks=["sentiment"])
    """
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, **csv_options))
    return _build(rows, path, text_field, tasks, set(token_tasks), name, pair_field)


def read_jsonl(path, text_field="text", tasks=None, token_tasks=(), name=None, pair_field=None):
    """A `LabeledTexts` from a JSON Lines file, one object per line.

    Example (lines like `{"text": "fly to boston", "intent": "flight",
    "slots": ["O", "O", "B-city"]}`):

    >>> data = read_jsonl("train.jsonl", tasks=["intent", "slots"], token_tasks=["slots"])

    Pairs (lines like `{"premise": "...", "hypothesis": "...", "label": "entailment"}`):

    >>> nli = read_jsonl("nli.jsonl", text_field="premise", pair_field="hypothesis")
    """
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON: {error}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {row!r}.")
            rows.append(row)
    if rows:
        fields = set().union(*rows)
        rows = [{field: row.get(field) for field in fields} for row in rows]
    return _build(rows, path, text_field, tasks, set(token_tasks), name, pair_field)
