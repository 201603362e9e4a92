import subprocess
import zipfile

import numpy as np
import pytest

from keras_mtl.datasets import DATASETS, load_lee
from keras_mtl.datasets.lee import lee_source, lee_wheel_path, pair_ratings

DATA = "gensim/test/test_data/"


@pytest.fixture(scope="module")
def wheel():
    try:
        return lee_wheel_path()
    except (OSError, RuntimeError) as error:
        pytest.skip(f"gensim 4.4.0 wheel unavailable (run .ci/setup, or set "
                    f"$KERAS_MTL_GENSIM_WHEEL): {error}")


@pytest.fixture(scope="module")
def lee(wheel):
    return load_lee(source=wheel)


@pytest.fixture(scope="module")
def raw(wheel):
    """The two files as plain text lines, read here without the loader."""
    with zipfile.ZipFile(wheel) as z:
        documents = z.read(DATA + "lee.cor").decode("latin-1").splitlines()
        ratings = z.read(DATA + "similarities0-1.txt").decode("ascii").splitlines()
    return documents, [line.split("\t") for line in ratings]


def test_sizes_and_labels(lee):
    assert DATASETS["lee"] is load_lee
    assert [len(lee[s]) for s in ("train", "dev", "test")] == [981, 122, 122]
    for split, data in lee.items():
        assert data.name == f"lee/{split}" and list(data.labels) == ["similarity"]
        assert all(p is not None for p in data.pairs)
        scores = data.labels["similarity"]
        assert all(isinstance(s, float) and 0 <= s <= 1 for s in scores)


def test_pairs_are_distinct_and_in_one_split(lee):
    pairs = {s: list(zip(d.texts, d.pairs)) for s, d in lee.items()}
    every = [frozenset(p) for ps in pairs.values() for p in ps]
    assert len(set(every)) == len(every) == 50 * 49 // 2
    assert all(len(p) == 2 for p in every)  # never a document with itself
    # Documents (unlike pairs) recur across splits.
    documents = {s: {t for p in ps for t in p} for s, ps in pairs.items()}
    assert len(documents["train"]) == 50 and documents["test"] & documents["train"]


def test_rating_is_the_upper_cell(lee, raw):
    documents, cells = raw
    # Documents 0 and 5: the file has 0.5 above the diagonal and a blank 0 below;
    # the label is 0.5 (an average with the blank would give 0.25).
    assert (cells[0][5], cells[5][0]) == ("0.5", "0")
    combined = {
        (t, p): s
        for data in lee.values()
        for t, p, s in zip(data.texts, data.pairs, data.labels["similarity"])
    }
    first, fifth = (" ".join(documents[i].split()) for i in (0, 5))
    assert combined[(first, fifth)] == 0.5 and (fifth, first) not in combined
    # Every cell below the diagonal is blank; the diagonal is 1.
    assert all(float(cells[j][i]) == 0 for i in range(50) for j in range(i + 1, 50))
    assert all(cells[i][i] == "1" for i in range(50))
    # The one non-ASCII byte (0xA3) is read as Latin-1.
    assert any("£3,000" in text for pair in combined for text in pair)


def test_seeded_split(lee, wheel):
    again = load_lee(source=wheel)
    assert again["test"].texts == lee["test"].texts
    assert load_lee(seed=1, source=wheel)["test"].texts != lee["test"].texts


def test_installed_gensim_test_data_is_read(lee, wheel, tmp_path, monkeypatch):
    folder = tmp_path / DATA
    folder.mkdir(parents=True)
    (tmp_path / "gensim" / "__init__.py").write_text("")
    with zipfile.ZipFile(wheel) as z:
        for name in ("lee.cor", "similarities0-1.txt"):
            (folder / name).write_bytes(z.read(DATA + name))
    monkeypatch.delenv("KERAS_MTL_GENSIM_WHEEL", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert lee_source() == str(folder)
    installed = load_lee()
    assert installed["test"].pairs == lee["test"].pairs
    assert installed["test"].labels == lee["test"].labels


def test_pair_ratings_symmetry_rule():
    upper = np.array([[1.0, 0.4, 0.6], [0.0, 1.0, 0.2], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(pair_ratings(upper), [0.4, 0.6, 0.2])
    np.testing.assert_allclose(pair_ratings(np.maximum(upper, upper.T)), [0.4, 0.6, 0.2])
    conflicting = upper.copy()
    conflicting[2, 0] = 0.5
    with pytest.raises(ValueError, match=r"cell \[2, 0\] = 0.5 disagrees with \[0, 2\] = 0.6"):
        pair_ratings(conflicting)


def test_bad_sources(tmp_path, monkeypatch):
    missing = tmp_path / "missing.whl"
    monkeypatch.setenv("KERAS_MTL_GENSIM_WHEEL", str(missing))
    with pytest.raises(FileNotFoundError, match="KERAS_MTL_GENSIM_WHEEL points to a missing file"):
        load_lee()
    not_zip = tmp_path / "notes.txt"
    not_zip.write_text("hello")
    with pytest.raises(ValueError, match="neither a gensim wheel"):
        load_lee(source=str(not_zip))
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr(DATA + "lee.cor", "a document\n")
    with pytest.raises(ValueError, match="has no gensim/test/test_data/similarities0-1.txt"):
        load_lee(source=str(other))


def test_download_errors_say_what_to_run(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_MTL_GENSIM_WHEEL", raising=False)
    monkeypatch.setenv("KERAS_MTL_CACHE", str(tmp_path))
    command = r"run: pip download --only-binary :all: .* gensim==4\.4\.0 -d"
    with pytest.raises(FileNotFoundError, match=command):
        lee_wheel_path(download=False)

    def failing_pip(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "No matching distribution found")

    monkeypatch.setattr(subprocess, "run", failing_pip)
    message = r"(?s)Could not fetch the gensim data \(.*pip download.*No matching.*GENSIM_WHEEL"
    with pytest.raises(RuntimeError, match=message):
        lee_wheel_path()
