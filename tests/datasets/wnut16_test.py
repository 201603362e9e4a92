from keras_mtl.datasets import load_wnut16
from keras_mtl.datasets.wnut16 import wnut16_path


def test_splits_cover_the_file_once_and_are_deterministic():
    wnut = load_wnut16()
    sizes = [len(wnut[s]) for s in ("train", "dev", "test")]
    assert sizes == [1676, 239, 479] and sum(sizes) == 2394
    texts = wnut["train"].texts + wnut["dev"].texts + wnut["test"].texts
    # Every tweet lands in exactly one split: one blank line ends each tweet.
    with open(wnut16_path(), encoding="utf-8") as f:
        sentences = sum(1 for line in f if not line.strip())
    assert sentences == len(texts)
    assert load_wnut16()["test"].texts == wnut["test"].texts
    assert load_wnut16(seed=1)["test"].texts != wnut["test"].texts


def test_first_tweet_and_tag_set():
    wnut = load_wnut16()
    everything = wnut["train"].label_set("ner") + wnut["dev"].label_set("ner")
    types = {tag[2:] for tag in everything if tag != "O"}
    assert types == {
        "person", "geo-loc", "other", "company", "facility", "product", "musicartist",
        "sportsteam", "movie", "tvshow",
    }
    for split in wnut.values():
        for text, tags in zip(split.texts, split.labels["ner"]):
            assert len(text.split(" ")) == len(tags)
    first = "@paulwalk It 's the view from where I 'm living for two weeks . Empire State Building = ESB . Pretty bad storm here last evening ."
    where = [s for s in wnut.values() if first in s.texts][0]
    tags = where.labels["ner"][where.texts.index(first)]
    assert tags[14:17] == ["B-facility", "I-facility", "I-facility"] and tags[18] == "B-facility"
