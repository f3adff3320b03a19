"""Synonym sets: the counter-fitted table (lookups, casing, sources, verification), JSON tables and
their errors, fingerprints, and what ``doctor`` is told."""

from __future__ import annotations

import json

import pytest

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.threat.synonyms import counterfitted, registry
from textattack_rift.threat.synonyms.base import SynonymSet, recase
from textattack_rift.threat.synonyms.table import load_table


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """A private cache root, no env path, offline: nothing here may touch the network or ~/.cache."""
    monkeypatch.setenv("TEXTATTACK_RIFT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(counterfitted.PATH_ENV, raising=False)
    monkeypatch.setenv("TEXTATTACK_RIFT_OFFLINE", "1")
    registry.clear_cache()
    yield
    registry.clear_cache()


def _write(path, obj_or_text):
    path.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text), encoding="utf-8")
    return path


# -- the counter-fitted table ----------------------------------------------------------------
def test_counterfitted_lookups_and_size(counterfitted_path):
    synonyms = counterfitted.load(counterfitted_path)
    assert synonyms.name == "counterfitted" and synonyms.spec == "counterfitted"
    assert len(synonyms) == 25591  # words with at least one neighbour (shared/README)
    assert synonyms.candidates("good") == ["alright", "buena", "well", "nice", "decent", "best"]
    assert synonyms.candidates("Good") == synonyms.candidates("GOOD") == synonyms.candidates("good")
    assert "movie" in synonyms.candidates("film") and "good" in synonyms and "Good" in synonyms
    assert synonyms.candidates("the") == []  # a key with an empty list counts as no candidates
    assert synonyms.candidates("zzyzx") == []
    assert all(len(synonyms.candidates(w)) <= 8 for w in synonyms.words())


def test_counterfitted_swaps_keep_capitalisation(counterfitted_path):
    synonyms = counterfitted.load(counterfitted_path)
    assert synonyms.recased_candidates("good")[:3] == ["alright", "buena", "well"]
    assert synonyms.recased_candidates("Good")[:3] == ["Alright", "Buena", "Well"]
    assert synonyms.recased_candidates("GOOD")[:3] == ["ALRIGHT", "BUENA", "WELL"]
    assert "Movies" in synonyms.recased_candidates("Film")


@pytest.mark.parametrize(
    "original, candidate, expected",
    [("good", "great", "great"), ("Good", "great", "Great"), ("GOOD", "great", "GREAT"),
     ("I", "me", "Me"), ("iPhone", "phone", "phone"), ("good", "Paris", "Paris"), ("McFly", "actor", "Actor")],
)
def test_recase(original, candidate, expected):
    assert recase(original, candidate) == expected


def test_counterfitted_from_env_and_cache(counterfitted_path, monkeypatch, tmp_path):
    monkeypatch.setenv(counterfitted.PATH_ENV, str(counterfitted_path))
    from_env = registry.build_synonym_set("counterfitted")
    assert len(from_env) == 25591
    # The same table given as a plain path is the same threat: same fingerprint, other name.
    as_path = registry.build_synonym_set(str(counterfitted_path))
    assert as_path.name == "counterfitted_neighbors" and as_path.fingerprint == from_env.fingerprint
    # A verified copy in the cache is found without the env var.
    monkeypatch.delenv(counterfitted.PATH_ENV)
    cached = counterfitted.cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(counterfitted_path.read_bytes())
    assert counterfitted.locate() == (cached, "cache")
    assert counterfitted.load().fingerprint == from_env.fingerprint


def test_counterfitted_offline_fails_at_once_with_the_fix():
    with pytest.raises(ResourceMissing) as err:
        counterfitted.load()
    message = str(err.value)
    assert counterfitted.FILENAME in message and counterfitted.SHA256 in message
    assert "--synonyms PATH" in message and counterfitted.PATH_ENV in message and "\n" not in message


def test_counterfitted_rejects_another_table(tmp_path):
    other = _write(tmp_path / "counterfitted_neighbors.json", {"good": ["great"]})
    with pytest.raises(RiftUserError, match="not the paper's counter-fitted table"):
        counterfitted.load(other)
    with pytest.raises(ResourceMissing, match="not found"):
        counterfitted.load(tmp_path / "absent.json")


# -- JSON tables -----------------------------------------------------------------------------
def test_table_normalisation(tmp_path):
    path = _write(
        tmp_path / "mine.json",
        {"Good": ["great", "fine", "great", "good", "very good", ""], "good": ["superb"], "bad": [], "Film": ["Movie"]},
    )
    synonyms = load_table(path)
    assert synonyms.name == "mine" and synonyms.spec == str(path.resolve())
    assert synonyms.candidates("good") == ["great", "fine", "superb"]  # merged, duplicates/self/multi-word dropped
    assert synonyms.candidates("film") == ["Movie"]  # candidates keep their case
    assert len(synonyms) == 2 and synonyms.dropped == 4 and "bad" not in synonyms


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not valid JSON"),
        ('["good", "great"]', "holds a JSON list, expected an object"),
        ('"good"', "holds a JSON str, expected an object"),
        ('{"good": "great"}', "entry 'good' is a str, expected a list of strings"),
        ('{"good": ["great", 3]}', "entry 'good' is a list holding int 3, expected a list of strings"),
        ('{"good": {"great": 1}}', "entry 'good' is a dict"),
        ("{}", "has no word with a synonym"),
        ('{"good": [], "bad": ["bad"]}', "has no word with a synonym"),
    ],
)
def test_bad_tables_are_one_line_user_errors(tmp_path, content, message):
    path = _write(tmp_path / "table.json", content)
    with pytest.raises(RiftUserError) as err:
        registry.build_synonym_set(str(path))
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_table_and_empty_spec(tmp_path):
    with pytest.raises(ResourceMissing, match="not found"):
        registry.build_synonym_set(str(tmp_path / "nope.json"))
    with pytest.raises(RiftUserError, match="empty synonym set name"):
        registry.build_synonym_set("  ")
    with pytest.raises(RiftUserError):
        SynonymSet.from_dict("mem", {})


def test_fingerprint_follows_contents_and_settings():
    a = SynonymSet.from_dict("a", {"good": ["great", "fine"], "film": ["movie"]})
    same = SynonymSet.from_dict("b", {"film": ["movie"], "GOOD": ["great", "fine"], "odd": []})
    reordered = SynonymSet.from_dict("a", {"good": ["fine", "great"], "film": ["movie"]})
    bigger = SynonymSet.from_dict("a", {"good": ["great", "fine"], "film": ["movie", "picture"]})
    other_settings = SynonymSet.from_dict("a", {"good": ["great", "fine"], "film": ["movie"]}, settings={"k": 1})
    assert a.fingerprint == same.fingerprint  # names and empty entries do not change what may be swapped
    assert len({a.fingerprint, reordered.fingerprint, bigger.fingerprint, other_settings.fingerprint}) == 4
    assert len(a.fingerprint) == 16 and int(a.fingerprint, 16) >= 0


def test_loaded_sets_are_shared_and_reloaded_when_the_file_changes(tmp_path):
    path = _write(tmp_path / "t.json", {"good": ["great"]})
    first = registry.build_synonym_set(str(path))
    assert registry.build_synonym_set(str(path)) is first
    _write(path, {"good": ["great", "fine"]})
    assert registry.build_synonym_set(str(path)).candidates("good") == ["great", "fine"]


def test_describe_for_doctor(counterfitted_path, monkeypatch):
    rows = {row["name"]: row for row in registry.describe_synonym_sets()}
    assert set(rows) >= {"counterfitted", "wordnet"}
    assert rows["counterfitted"]["available"] is False and "not downloaded" in rows["counterfitted"]["reason"]
    monkeypatch.setenv(counterfitted.PATH_ENV, str(counterfitted_path))
    row = {r["name"]: r for r in registry.describe_synonym_sets()}["counterfitted"]
    assert row["available"] is True and row["size"] == 25591 and row["where"] == str(counterfitted_path)
    wordnet_row = rows["wordnet"]
    assert {"available", "size", "where"} <= set(wordnet_row)
    if wordnet_row["size"] is None:  # a fresh cache root: doctor must not start a multi-minute build
        assert "not built yet" in wordnet_row["reason"]
