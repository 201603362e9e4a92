import pytest

from keras_mtl.datasets import load_atis
from keras_mtl.datasets.atis import parse_atis_line


@pytest.fixture(scope="module")
def atis():
    return load_atis()


def test_split_sizes_and_determinism(atis):
    assert [len(atis[s]) for s in ("train", "dev", "test")] == [4478, 500, 893]
    again = load_atis()
    assert again["dev"].texts == atis["dev"].texts
    assert not set(atis["dev"].texts) >= set(atis["train"].texts)


def test_labels_are_aligned_with_words(atis):
    for split in atis.values():
        for text, tags in zip(split.texts, split.labels["slots"]):
            assert len(text.split()) == len(tags)


def test_label_sets(atis):
    train_dev_intents = set(atis["train"].label_set("intent")) | set(atis["dev"].label_set("intent"))
    assert len(train_dev_intents) == 22
    unseen = set(atis["test"].label_set("intent")) - train_dev_intents
    assert "atis_day_name" in unseen and len(unseen) == 4
    assert atis["test"].label_set("intent").count("atis_flight") == 1


def test_parse_line_and_errors():
    words, tags, intent = parse_atis_line("fly:O to:O boston:B-toloc.city_name <=> atis_flight")
    assert words == ["fly", "to", "boston"] and tags[2] == "B-toloc.city_name"
    with pytest.raises(ValueError, match="no ' <=> ' separator"):
        parse_atis_line("fly:O to:O")
    with pytest.raises(ValueError, match="is not 'word:TAG'"):
        parse_atis_line("fly to:O <=> atis_flight")
