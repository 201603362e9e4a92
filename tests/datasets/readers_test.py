import json

import pytest

from keras_mtl.datasets import LabeledTexts, load_dataset, load_files, read_conll, read_csv, read_jsonl


def test_conll(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text("-DOCSTART-\tO\n\nJohn\tB-person\nlives\tO\n\nParis\tB-geo\n\t\n")
    data = read_conll(str(path), task="ner")
    assert data.texts == ["John lives", "Paris"]
    assert data.labels["ner"] == [["B-person", "O"], ["B-geo"]]
    path.write_text("John\n")
    with pytest.raises(ValueError, match="expected a token and a tag"):
        read_conll(str(path))


def test_csv_and_jsonl_with_missing_labels(tmp_path):
    csv_path = tmp_path / "data.csv"
    csv_path.write_text("text,intent,slots\nfly to boston,flight,O O B-city\nhello,,\n")
    data = read_csv(str(csv_path), tasks=["intent", "slots"], token_tasks=["slots"])
    assert data.labels == {"intent": ["flight", None], "slots": [["O", "O", "B-city"], None]}
    jsonl = tmp_path / "data.jsonl"
    rows = [{"text": "great movie", "sentiment": "positive"}, {"text": "fly home", "intent": "flight"}]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    data = read_jsonl(str(jsonl))
    assert data.labels == {"sentiment": ["positive", None], "intent": [None, "flight"]}
    with pytest.raises(ValueError, match=r"no field\(s\) \['label'\]"):
        read_jsonl(str(jsonl), tasks={"sentiment": "label"})
    jsonl.write_text('{"text": ""}\n')
    with pytest.raises(ValueError, match="text 0 is empty"):
        read_jsonl(str(jsonl))


def test_load_files_and_registry(tmp_path):
    for split in ("train", "test"):
        (tmp_path / f"{split}.jsonl").write_text('{"text": "hi there", "topic": "greeting"}\n')
    splits = load_files("jsonl", train=str(tmp_path / "train.jsonl"), test=str(tmp_path / "test.jsonl"))
    assert sorted(splits) == ["test", "train"] and splits["test"].name == "files/test"
    via_registry = load_dataset("mine", format="jsonl", train=str(tmp_path / "train.jsonl"))
    assert via_registry["train"].labels == {"topic": ["greeting"]}
    with pytest.raises(ValueError, match="Unknown file format 'xml'"):
        load_files("xml", train="x")
    with pytest.raises(ValueError, match="Unknown dataset 'imdb'"):
        load_dataset("imdb")


def test_split_and_combine():
    data = LabeledTexts([f"text {i}" for i in range(10)], {"a": list(range(10))}, name="d/all")
    parts = data.split({"dev": 0.2, "test": 0.3}, seed=0)
    assert [len(parts[s]) for s in ("train", "dev", "test")] == [5, 2, 3]
    assert sorted(sum((p.texts for p in parts.values()), [])) == sorted(data.texts)
    with pytest.raises(ValueError, match="sum to less than 1"):
        data.split({"dev": 0.5, "test": 0.5})
    other = LabeledTexts(["x y"], {"b": [["O", "O"]]})
    both = LabeledTexts.combine([data, other])
    assert both.labels["a"][-1] is None and both.labels["b"][:10] == [None] * 10


def test_readers_take_a_second_text_column_for_pairs(tmp_path):
    path = tmp_path / "nli.jsonl"
    path.write_text(
        '{"premise": "a man plays", "hypothesis": "someone plays", "label": "entailment"}\n'
        '{"premise": "a dog runs", "hypothesis": "", "label": null}\n'
    )
    data = read_jsonl(str(path), text_field="premise", pair_field="hypothesis")
    assert data.texts == ["a man plays", "a dog runs"]
    assert data.pairs == ["someone plays", None]
    assert data.labels == {"label": ["entailment", None]}
    csv_path = tmp_path / "sts.csv"
    csv_path.write_text("s1,s2,score\na cat sits,a cat is sitting,4.5\n")
    sts = read_csv(str(csv_path), text_field="s1", pair_field="s2")
    assert sts.pairs == ["a cat is sitting"] and sts.labels == {"score": ["4.5"]}
    with pytest.raises(ValueError, match=r"sts.csv: no pair field 'sentence2'"):
        read_csv(str(csv_path), text_field="s1", pair_field="sentence2")
