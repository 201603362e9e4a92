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
from keras_mtl.datasets.text_lines import text_lines
from keras_mtl.errors import ConfigError, DataError
from keras_mtl.preprocessing.words import split_words


def _task_columns(tasks, fields, text_field, path, pair_field=None, line=None):
    """`{task: field}`; `line` is where the fields are named (the CSV header, the
    first JSON line)."""
    if pair_field is not None and pair_field not in fields:
        raise DataError(f"no pair field {pair_field!r}; it has {sorted(fields)}.", path)
    if tasks is None:
        tasks = {field: field for field in fields if field not in (text_field, pair_field)}
    elif isinstance(tasks, (list, tuple)):
        tasks = {task: task for task in tasks}
    elif not isinstance(tasks, dict):
        raise ConfigError(
            f"tasks must be a list of column names or a dict task → column, got {tasks!r}."
        )
    unknown = sorted(set(tasks.values()) - set(fields))
    if unknown:
        raise DataError(f"no field(s) {unknown}; it has {sorted(fields)}.", path, line)
    if text_field not in fields:
        raise DataError(
            f"no text field {text_field!r}; it has {sorted(fields)} (name the text with "
            "text_field=).", path, line,
        )
    return tasks


def _text(value, i, field, path, line, required=True):
    """The text of a row (`None` for an absent second text); DataError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if not required:
            return None
        raise DataError(
            f"text {i} is empty (field {field!r}); every example needs a text.", path, line
        )
    if not isinstance(value, str):
        raise DataError(
            f"field {field!r} must be a string, got {value!r} ({type(value).__name__}).",
            path, line,
        )
    return value


def _label(value, task, field, text, token_level, path, line):
    """A row's label: `None` when empty; per-word labels split and counted."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dict):
        raise DataError(
            f"task {task!r} (field {field!r}): a label cannot be a JSON object, got {value!r}.",
            path, line,
        )
    if not token_level:
        return value
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        raise DataError(
            f"task {task!r} (field {field!r}) is word-level: expected a list of labels "
            f"(one per word) or a space-separated string, got {value!r}.", path, line,
        )
    num_words = len(split_words(text))
    if len(value) != num_words:
        raise DataError(
            f"task {task!r} (field {field!r}): {len(value)} labels for {num_words} words "
            "(one label per whitespace-separated word of the text).", path, line,
        )
    return value


def _build(rows, lines, path, text_field, tasks, token_tasks, name, pair_field=None,
           fields_line=None):
    """`LabeledTexts` from rows (dicts) and the line each row ends on;
    `fields_line`: where the fields are named (default: the first row's line)."""
    if not rows:
        raise DataError("no examples: the file is empty or has only blank lines.", path)
    tasks = _task_columns(tasks, list(rows[0]), text_field, path, pair_field,
                          fields_line or lines[0])
    texts, pairs, labels = [], [], {task: [] for task in tasks}
    for i, (row, line) in enumerate(zip(rows, lines)):
        text = _text(row.get(text_field), i, text_field, path, line)
        texts.append(text)
        if pair_field is not None:
            pairs.append(_text(row.get(pair_field), i, pair_field, path, line, required=False))
        for task, field in tasks.items():
            labels[task].append(
                _label(row.get(field), task, field, text, task in token_tasks, path, line)
            )
    return LabeledTexts(texts, labels, name=name or path,
                        pairs=None if pair_field is None else pairs)


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

    Raises:
        DataError: naming `path:line` for a byte that is not UTF-8, a row with
            more or fewer fields than the header, an empty text, or per-word
            tags whose count differs from the text's words; also for a missing
            file or column.

    Example (`reviews.csv` with columns `text,sentiment`):

    ```python
    data = read_csv("reviews.csv", tasks=["sentiment"])
    ```
    """
    lines = (line for _, line in text_lines(path))
    try:
        reader = csv.DictReader(lines, **csv_options)
    except TypeError as error:
        raise ConfigError(f"read_csv: bad CSV option(s) {sorted(csv_options)}: {error}") from None
    rows, row_lines = [], []
    try:
        header = reader.fieldnames
        if not header:
            raise DataError(
                "the file is empty; a CSV file starts with a header row naming its "
                f"columns (e.g. {text_field},label).", path,
            )
        duplicates = sorted({field for field in header if header.count(field) > 1})
        if duplicates:
            raise DataError(f"column(s) {duplicates} appear twice in the header.", path, 1)
        for row in reader:
            if None in row or None in row.values():
                count = len(header) + len(row.get(None) or []) - list(row.values()).count(None)
                raise DataError(
                    f"{count} fields, the header has {len(header)}; quote fields that "
                    "contain the delimiter.", path, reader.line_num,
                )
            rows.append(row)
            row_lines.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"not valid CSV: {error}.", path, reader.line_num) from None
    if not rows:
        raise DataError("no rows after the header.", path)
    return _build(rows, row_lines, path, text_field, tasks, set(token_tasks), name, pair_field,
                  fields_line=1)


def read_jsonl(path, text_field="text", tasks=None, token_tasks=(), name=None, pair_field=None):
    """A `LabeledTexts` from a JSON Lines file, one object per line.

    Blank lines are skipped. Errors name `path:line`: a byte that is not UTF-8,
    a line that is not a JSON object, an empty or non-string text, a label that is
    a JSON object, per-word labels whose count differs from the text's words.

    Example (lines like `{"text": "fly to boston", "intent": "flight",
    "slots": ["O", "O", "B-city"]}`):

    ```python
    data = read_jsonl("train.jsonl", tasks=["intent", "slots"], token_tasks=["slots"])
    ```

    Pairs (lines like `{"premise": "...", "hypothesis": "...", "label": "entailment"}`):

    ```python
    nli = read_jsonl("nli.jsonl", text_field="premise", pair_field="hypothesis")
    ```
    """
    rows, row_lines = [], []
    for number, line in text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(
                f"not valid JSON: {error.msg} (column {error.colno}).", path, number
            ) from None
        if not isinstance(row, dict):
            raise DataError(
                f"expected a JSON object ({{\"{text_field}\": ..., <task>: <label>}}), "
                f"got {line.strip()[:80]!r}.", path, number,
            )
        rows.append(row)
        row_lines.append(number)
    if rows:
        fields = list(dict.fromkeys(field for row in rows for field in row))  # file order
        rows = [{field: row.get(field) for field in fields} for row in rows]
    return _build(rows, row_lines, path, text_field, tasks, set(token_tasks), name, pair_field)
