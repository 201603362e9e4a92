"""Bad data files, in-memory datasets and options give typed errors that name the
file and line, the task, or the option and its value; a dataset without a task's
label column trains exactly like one whose column is all `None`."""

import re

import keras
import numpy as np
import pytest

from keras_mtl import LabeledTexts, MultiTaskPreprocessor, TaskSpec, make_dataset
from keras_mtl.config import resolve_config
from keras_mtl.data import TaskMixture
from keras_mtl.data.samplers import get_sampler
from keras_mtl.datasets import load_dataset, read_conll, read_conllu, read_csv, read_jsonl
from keras_mtl.errors import ConfigError, DataError, InputError
from keras_mtl.models.task_weights import TaskWeights
from keras_mtl.weighting import get_strategy
from tests.conftest import (
    INTENT_LABELS, SLOT_LABELS, TEXTS, tiny_model, tiny_tasks, tiny_tokenizer,
)

NAN = float("nan")
WORD = "1\t{}\t_\t_\t_\t_\t0\troot\t_\t_\n"  # a one-word CoNLL-U sentence

# reader, first (good) lines, a line holding the byte 0xe9 (Latin-1 "é"), options
UTF8_CASES = {
    "jsonl": (read_jsonl, b'{"text": "ok"}\n', b'{"text": "caf\xe9"}\n', {}),
    "csv": (read_csv, b"text,intent\nok,a\n", b"caf\xe9,b\n", {}),
    "conll": (read_conll, b"ok\tO\n\n", b"caf\xe9\tO\n", {}),
    "conllu": (read_conllu, WORD.format("ok").encode() + b"\n", WORD.format("caf").encode()
               .replace(b"caf", b"caf\xe9"), {}),
}


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


@pytest.mark.parametrize("fmt", sorted(UTF8_CASES))
def test_bytes_that_are_not_utf8_name_file_line_and_byte(tmp_path, fmt):
    reader, good, bad, options = UTF8_CASES[fmt]
    path = write(tmp_path, f"data.{fmt}", good + bad)
    line = good.count(b"\n") + 1
    column = bad.index(b"\xe9") + 1
    offset = len(good) + column - 1
    with pytest.raises(DataError) as caught:
        reader(path, **options)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert str(caught.value) == (
        f"{path}:{line}: not valid UTF-8 (byte 0xe9 at column {column}), byte {offset} of "
        "the file. Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 old > new)."
    )


@pytest.mark.parametrize("fmt, content", [
    ("jsonl", '{"text": "ok", "intent": "a"}\n'),
    ("csv", "text,intent\nok,a\n"),
    ("conll", "ok\tO\n"),
    ("conllu", WORD.format("ok")),
])
def test_a_byte_order_mark_is_dropped(tmp_path, fmt, content):
    reader = UTF8_CASES[fmt][0]
    data = reader(write(tmp_path, f"bom.{fmt}", b"\xef\xbb\xbf" + content.encode()))
    assert data.texts == ["ok"]


BAD_FILES = [
    # (reader, content, options, line named (None: the file), message pattern)
    (read_jsonl, '{"text": "a"}\n{text: 1}\n', {}, 2, r"not valid JSON: .*\(column 2\)"),
    (read_jsonl, '{"text": "a"}\n[1, 2]\n', {}, 2, r"expected a JSON object .*got '\[1, 2\]'"),
    (read_jsonl, '{"text": "a", "i": "x"}\n\n{"i": "y"}\n', {}, 3,
     r"text 1 is empty \(field 'text'\)"),
    (read_jsonl, '{"text": 5}\n', {}, 1, r"field 'text' must be a string, got 5 \(int\)"),
    (read_jsonl, '{"text": "a", "i": {"x": 1}}\n', {}, 1,
     r"task 'i' \(field 'i'\): a label cannot be a JSON object"),
    (read_jsonl, '{"text": "a b", "s": ["O"]}\n', {"token_tasks": ["s"]}, 1,
     r"task 's' \(field 's'\): 1 labels for 2 words"),
    (read_jsonl, '{"text": "a", "s": 5}\n', {"token_tasks": ["s"]}, 1,
     r"task 's' \(field 's'\) is word-level: expected a list of labels"),
    (read_jsonl, "\n\n", {}, None, "no examples: the file is empty"),
    (read_jsonl, '{"text": "a"}\n', {"tasks": ["intent"]}, 1, r"no field\(s\) \['intent'\]"),
    (read_jsonl, '\n{"txt": "a"}\n', {}, 2, r"no text field 'text'; it has \['txt'\]"),
    (read_csv, "", {}, None, "the file is empty; a CSV file starts with a header row"),
    (read_csv, "text,intent\n", {}, None, "no rows after the header"),
    (read_csv, "text,intent,topic\na,x,y\nb,x\n", {}, 3, "2 fields, the header has 3"),
    (read_csv, "text,intent\na,x\nb,x,y\n", {}, 3, "3 fields, the header has 2"),
    (read_csv, "text,intent,intent\na,x,y\n", {}, 1, r"column\(s\) \['intent'\] appear twice"),
    (read_csv, "text,slots\na b,O\n", {"token_tasks": ["slots"]}, 2,
     r"task 'slots' \(field 'slots'\): 1 labels for 2 words"),
    (read_csv, "text,intent\na,x\n,y\n", {}, 3, "text 1 is empty"),
    (read_csv, "text,intent\na,x\n", {"tasks": ["slots"]}, 1, r"no field\(s\) \['slots'\]"),
    (read_conll, "a\tO\nb\n", {}, 2, r"expected a token and a tag .*got 'b'"),
    (read_conll, "\n-DOCSTART-\tO\n", {}, None, "no sentences found"),
    (read_conllu, WORD.format("a").replace("\t0\t", "\tx\t"), {}, 1, "HEAD 'x' is not an integer"),
    (read_conllu, WORD.format("a").replace("1\t", "one\t", 1), {}, 1, "ID 'one' is not an integer"),
    (read_conllu, WORD.format("a").replace("\t0\t", "\t2\t"), {}, 1, r"HEAD 2 out of range 0\.\.1"),
    (read_conllu, "", {}, 1, "no sentences in the file"),
]


@pytest.mark.parametrize(
    "reader, content, options, line, pattern", BAD_FILES,
    ids=[f"{case[0].__name__}-{case[4][:30]}" for case in BAD_FILES],
)
def test_bad_files_are_data_errors_naming_file_and_line(tmp_path, reader, content, options,
                                                        line, pattern):
    path = write(tmp_path, "data.txt", content)
    where = f"{path}:{line}: " if line else f"{path}: "
    with pytest.raises(DataError, match="^" + re.escape(where) + pattern):
        reader(path, **options)


@pytest.mark.parametrize("reader", [read_jsonl, read_csv, read_conll, read_conllu])
def test_a_missing_file_or_a_folder(tmp_path, reader):
    missing = str(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match=f"^{re.escape(missing)}: no such file"):
        reader(missing)
    with pytest.raises(DataError, match=f"^{re.escape(str(tmp_path))}: is a folder, not a file"):
        reader(str(tmp_path))


@pytest.mark.parametrize("name, options, pattern", [
    ("imdb", {}, "Unknown dataset 'imdb'; known datasets"),
    ("atis", {"intent": "x"}, r"dataset 'atis' takes no option\(s\) \['intent'\]"),
    ("mine", {"format": "xml", "train": "a"}, "Unknown file format 'xml'"),
    ("mine", {"format": "jsonl"}, r"dataset 'mine' needs option\(s\) \['train'\]"),
    ("mine", {"format": "jsonl", "train": "a", "text": "t"},
     r"jsonl files takes no option\(s\) \['text'\]"),
])
def test_dataset_names_and_options_are_config_errors(name, options, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_dataset(name, **options)


@pytest.mark.parametrize("texts, labels, pattern", [
    ("fly to boston", {}, "texts must be a list .*got str"),
    (["a", 3], {}, "text 1 is not a string: 3"),
    (["a", " "], {}, "text 1 is empty"),
    (["a", "b"], ["x", "y"], "labels must be a dict task name"),
    (["a", "b"], {"intent": ["x"]}, "task 'intent' has 1 labels for 2 texts"),
    (["a", "b"], {"intent": "xy"}, "labels of task 'intent' must be a list .*got str 'xy'"),
    (["a", "b"], {"intent": 3}, "labels of task 'intent' must be a list"),
    (["a", "b"], {3: ["x", "y"]}, "task names must be strings, got 3"),
])
def test_bad_labeled_texts(texts, labels, pattern):
    with pytest.raises(DataError, match="^data: " + pattern):
        LabeledTexts(texts, labels)


@pytest.fixture(scope="module")
def preprocessor():
    return MultiTaskPreprocessor(tiny_tokenizer(), tiny_tasks(), 16)


@pytest.mark.parametrize("labels, pattern", [
    ({"topic": ["x"]}, r"tiny: labels for unknown task\(s\) \['topic'\]; the model's tasks"),
    ({"slots": [["O"]]}, "example 0: task 'slots': 7 words but 1 labels"),
    ({"slots": [5]}, "example 0: task 'slots': word-level labels must be a list"),
    ({"intent": ["atis_hotel"]}, "example 0: Unknown label 'atis_hotel' for task 'intent'"),
])
def test_bad_labels_in_memory_name_the_example(preprocessor, labels, pattern):
    with pytest.raises(DataError, match=pattern):
        make_dataset(preprocessor, LabeledTexts(TEXTS[:1], labels, name="tiny"))


@pytest.mark.parametrize("options, pattern", [
    ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
    ({"batch_size": "8"}, "batch_size must be an integer >= 1, got '8' .*without quotes"),
    ({"batch_size": 2.5}, "batch_size must be an integer >= 1, got 2.5"),
    ({"bucket_step": -8}, r"bucket_step \(or None: pad to sequence_length\) must be >= 1"),
    ({"seed": -1}, "seed must be non-negative, got -1"),
    ({"unknown_labels": "skip"}, "unknown_labels must be one of"),
])
def test_bad_make_dataset_options(preprocessor, options, pattern):
    data = LabeledTexts(TEXTS, {"intent": INTENT_LABELS})
    with pytest.raises(ConfigError, match=pattern):
        make_dataset(preprocessor, data, **options)
    with pytest.raises(DataError, match="data must be a LabeledTexts"):
        make_dataset(preprocessor, TEXTS)
    with pytest.raises(ConfigError, match="pass the model's preprocessor"):
        make_dataset(None, data)


@pytest.mark.parametrize("build, pattern", [
    (lambda: get_sampler({"name": "fixed", "weights": [NAN, 1.0]}),
     r"sampler 'fixed': weights\[0\] must be a non-negative number, got nan"),
    (lambda: get_sampler({"name": "fixed", "weights": [-0.5, 1.5]}),
     r"sampler 'fixed': weights\[0\] must be non-negative, got -0.5"),
    (lambda: get_sampler({"name": "fixed", "weights": [0.0, 0.0]}), r"must sum to 1.*\(sum 0\)"),
    (lambda: get_sampler({"name": "fixed", "weights": {"a": float("inf"), "b": 0.0}}),
     r"weights\['a'\] must be a non-negative number, got inf"),
    (lambda: get_sampler({"name": "fixed", "weights": 0.5}), "weights must be a list"),
    (lambda: get_sampler({"name": "temperature", "alpha": "0.5"}),
     r"sampler 'temperature': alpha must be a number in \[0, 1\], got '0.5'"),
    (lambda: get_sampler({"name": "annealed", "final_alpha": NAN}),
     r"sampler 'annealed': final_alpha must be a number in \[0, 1\], got nan"),
    (lambda: get_sampler(["uniform"]), r"Unknown sampler \['uniform'\]"),
    (lambda: get_strategy("dwa", temperature="2"),
     "weighting 'dwa': temperature must be a number > 0, got '2'"),
    (lambda: get_strategy("dwa", temperature=NAN), "weighting 'dwa': temperature .*got nan"),
    (lambda: get_strategy("dwa", temperature=True), "weighting 'dwa': temperature .*got True"),
    (lambda: get_strategy("gradnorm", alpha=-1), "weighting 'gradnorm': alpha must be non-neg"),
    (lambda: get_strategy("gradnorm", learning_rate="x"), "'gradnorm': learning_rate must be"),
    (lambda: get_strategy("gradnorm", update_every=2.5),
     "'gradnorm': update_every must be an integer >= 1, got 2.5"),
    (lambda: get_strategy("gradnorm", min_weight=1), r"min_weight must be in \[0, 1\), got 1"),
    (lambda: get_strategy("performance", temperature="0.1"), "'performance': temperature"),
    (lambda: get_strategy("performance", targets={"intent": NAN}),
     r"'performance': targets\['intent'\] must be a number, got nan"),
    (lambda: get_strategy("performance", metrics="val_acc"), "metrics must be a mapping"),
    (lambda: get_strategy("random", seed="x"), "'random': seed must be a non-negative integer"),
    (lambda: get_strategy("static", weights={"intent": -1}),
     r"'static': weights\['intent'\] must be non-negative, got -1"),
    (lambda: get_strategy("static", weights=[1, 2]), "'static': weights must be a mapping"),
    (lambda: get_strategy("uncertainty", foo=1), "Bad options for weighting strategy"),
    (lambda: TaskSpec("a", "classification", labels={"x", "y"}), "labels must be a list"),
    (lambda: TaskSpec("a", "classification", labels=["x", None]), "label None .* is not a name"),
    (lambda: TaskSpec("a", "classification", labels=["x", "y"], hidden_dim="big"),
     "Task 'a': hidden_dim must be an integer >= 1, got 'big'"),
    (lambda: TaskSpec("a", "multi_label", labels=["x", "y"], threshold=None),
     r"Task 'a': threshold must be a number in \(0, 1\), got None"),
])
def test_bad_options_name_the_option_and_value(build, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build()


def test_bad_task_mixture_options(preprocessor):
    datasets = {"a": LabeledTexts(TEXTS, {"intent": INTENT_LABELS, "slots": SLOT_LABELS})}
    for options, pattern in [
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"epochs": "2"}, "epochs must be an integer >= 1, got '2'"),
        ({"examples_per_epoch": -1}, r"examples_per_epoch \(or None.*\) must be >= 1"),
        ({"bucket_step": 0}, "bucket_step .* must be >= 1, got 0"),
        ({"seed": "x"}, "seed must be a non-negative integer"),
        ({"sampler": {"name": "fixed", "weights": [NAN]}}, r"weights\[0\] .*got nan"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            TaskMixture(preprocessor, datasets, **{"batch_size": 2, **options})


def test_task_weights_take_a_dict_or_one_weight_per_task():
    weights = TaskWeights(["intent", "slots"])
    weights.assign([2.0, 0.5])
    assert weights.as_dict() == {"intent": 2.0, "slots": 0.5}
    weights.assign({"slots": 3.0})
    assert weights.as_dict() == {"intent": 2.0, "slots": 3.0}
    for bad, pattern in [
        ([1.0], r"1 weights for 2 tasks \['intent', 'slots'\]; give one per task"),
        ([1.0, NAN], "Task 'slots': weight must be a non-negative number, got nan"),
        ({"intent": -1}, "Task 'intent': weight must be non-negative, got -1"),
        ({"intent": "x"}, "Task 'intent': weight must be a non-negative number, got 'x'"),
        ({"topic": 1.0}, r"`weights` names unknown task\(s\) \['topic'\]; the model's tasks"),
        (2.0, r"`weights` must be a dict \{task: weight\} or a list"),
    ]:
        with pytest.raises(InputError, match=pattern):
            weights.assign(bad)
    assert weights.as_dict() == {"intent": 2.0, "slots": 3.0}  # refusals change nothing


TASKS = [{"name": "intent", "type": "classification"},
         {"name": "slots", "type": "token_classification"}]


@pytest.mark.parametrize("config, pattern", [
    ({"training": {"learning_rate": NAN}},
     "'training.learning_rate' must be a number > 0, got nan"),
    ({"training": {"learning_rate": float("inf")}}, "'training.learning_rate' .*got inf"),
    ({"training": {"weight_decay": -1}}, "'training.weight_decay' must be non-negative"),
    ({"training": {"seed": -1}}, "'training.seed' must be non-negative"),
    ({"backbone": {"sequence_length": 3}}, "'backbone.sequence_length' must be >= 4, got 3"),
    ({"backbone": {"sharing": "partial", "tie_weight": NAN}}, "'backbone.tie_weight' must be"),
    ({"tasks": TASKS + TASKS[:1]}, r"'tasks' names task\(s\) \['intent'\] twice"),
    ({"tasks": [{"name": "intent", "type": ["classification"]}]}, r"'tasks\[0\].type' is \["),
    ({"tasks": [{"name": "intent", "type": "classification", "labels": ["a", "a"]}]},
     r"'tasks\[0\]': Task 'intent': duplicate labels \['a'\]"),
    ({"tasks": [{"name": "intent", "type": "classification", "weight": "2"}]},
     r"'tasks\[0\]': Task 'intent': weight must be a number, got '2'"),
    ({"tasks": [{"name": "intent", "type": "classification", "loss": "msee"}]},
     r"'tasks\[0\]': .*msee"),
    ({"data": {"dataset": "imdb"}}, "'data.dataset.imdb': Unknown dataset 'imdb'"),
    ({"data": {"dataset": {"atis": {"foo": 1}}}},
     r"'data.dataset.atis': .*no option\(s\) \['foo'\]"),
    ({"data": {"dataset": ["atis", "wnut16"],
               "sampler": {"name": "fixed", "weights": [NAN, 1.0]}}},
     r"'data.sampler': sampler 'fixed': weights\[0\] .*got nan"),
    ({"weighting": {"strategy": "dwa", "temperature": "2"}},
     "^weighting 'dwa': temperature must be a number > 0, got '2'"),
    ({"weighting": {"strategy": "static", "weights": {"topic": 1.0}}},
     r"'weighting': Static weights name unknown task\(s\) \['topic'\]"),
])
def test_bad_configs_are_refused_before_any_data_is_read(config, pattern):
    with pytest.raises(ConfigError, match=pattern):
        resolve_config({"tasks": TASKS, **config})


def test_a_missing_label_column_trains_like_a_column_of_nones():
    """Without a column for `slots` (word-level) and `score` (regression), fit and
    evaluate give the very logs and weights of all-`None` columns (KeyError before)."""
    tasks = tiny_tasks() + [TaskSpec("score", "regression")]

    def train(labels):
        keras.utils.set_random_seed(0)
        model = tiny_model(tasks)
        # AdamW decays every weight that has a gradient (zeros included), so equal
        # weights afterwards mean equal gradients, not only equal losses.
        model.compile(keras.optimizers.AdamW(1e-2, weight_decay=0.1))
        ds = make_dataset(model.preprocessor, LabeledTexts(TEXTS, labels), batch_size=2)
        history = model.fit(ds, validation_data=ds, epochs=1, verbose=0).history
        return history, model.get_weights()

    with_nones, weights = train(
        {"intent": INTENT_LABELS, "slots": [None] * 4, "score": [None] * 4}
    )
    without, weights_without = train({"intent": INTENT_LABELS})
    assert sorted(without) == sorted(with_nones)
    for key, values in with_nones.items():
        np.testing.assert_allclose(without[key], values, rtol=1e-6, err_msg=key)
    assert without["score_loss"] == without["val_slots_loss"] == [0.0]
    for a, b in zip(weights, weights_without):
        np.testing.assert_allclose(a, b, rtol=1e-6)
