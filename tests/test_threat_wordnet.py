"""The offline WordNet synonym set: determinism, antonyms, parts of speech, inflections, the cache.

Built on a small vocabulary (candidates still come from all of WordNet) so that the suite stays fast;
a full build (about 68k words) takes a few minutes and is cached per machine.
"""

from __future__ import annotations

import json
import time

import pytest

from textattack_rift.errors import RiftUserError
from textattack_rift.threat.synonyms import wordnet as wn_set

VOCABULARY = [
    "good", "bad", "movie", "movies", "film", "funny", "king", "ravel", "paternal", "hungry", "hot", "happy",
    "love", "dark", "fast", "slow", "boring", "great", "terrible", "beautiful", "running", "watched",
]


@pytest.fixture(scope="session")
def wordnet_reader():
    return wn_set.wordnet_reader()


@pytest.fixture(scope="session")
def small_set(wordnet_reader):
    return wn_set.build(VOCABULARY)


def _antonyms(reader, word):
    return {a.name() for s in reader.synsets(word) for l in s.lemmas() if l.name() == word for a in l.antonyms()}


def test_build_is_deterministic(small_set):
    again = wn_set.build(list(reversed(VOCABULARY)) + ["GOOD"])  # order and case of the vocabulary do not matter
    assert again.to_table() == small_set.to_table()
    assert again.fingerprint == small_set.fingerprint


def test_shape_of_the_set(small_set):
    assert small_set.name == "wordnet" and small_set.spec is None  # a vocabulary-restricted set is not rebuildable by name
    assert 0 < len(small_set)
    for word, cands in small_set.items():
        assert 1 <= len(cands) <= 8 and word not in cands and len(set(cands)) == len(cands)
        assert all(wn_set.WORD_RE.fullmatch(c) for c in cands), (word, cands)
    assert small_set.settings["wordnet"] == "3.0" and small_set.settings["ranking"] == "encoder"


def test_antonyms_are_excluded(small_set, wordnet_reader):
    assert "bad" not in small_set.candidates("good") and "good" not in small_set.candidates("bad")
    for word, cands in small_set.items():
        assert not set(cands) & _antonyms(wordnet_reader, word), word
    # WordNet puts some antonyms inside a synset of the word itself: the filter is what removes them.
    for word, antonym in [("ravel", "unravel"), ("king", "queen"), ("paternal", "maternal"), ("hungry", "thirsty")]:
        in_synsets = {n for s in wordnet_reader.synsets(word) if word in s.lemma_names() for n in s.lemma_names()}
        assert antonym in in_synsets
        found, _kept = wn_set.raw_candidates(wordnet_reader, word, pos_share=0.0)
        assert antonym not in found


def test_common_senses_first_and_rare_ones_dropped(small_set):
    assert small_set.candidates("movie")[0] == "film"
    assert small_set.candidates("good")[0] == "well"
    assert "commodity" not in small_set.candidates("good")  # "goods" sense: low similarity, and a noun
    # Same part of speech: "bad" is used as an adjective; its noun ("badness") and adverb ("badly") go.
    assert not {"badness", "badly"} & set(small_set.candidates("bad"))


def test_inflected_forms_get_inflected_candidates(small_set):
    assert "films" in small_set.candidates("movies")
    assert "movies" in small_set.candidates("films")
    running = small_set.candidates("running")
    assert running and all(c.endswith("ing") for c in running if c not in {"run", "track"})


def test_inflections_stay_single_words():
    assert wn_set._inflect("movie", "NNS") == "movies" and wn_set._inflect("see", "VBD") == "saw"
    assert wn_set._inflect("flatfoot", "NNS") is None  # "flat feet" would be a two-word swap
    assert wn_set._inflect("light-colored", "NNS") is None


def test_frequency_ranking_needs_no_encoder_and_changes_the_fingerprint(small_set):
    frequency = wn_set.build(["good", "movie"], ranking="frequency")
    assert frequency.settings["encoder"] is None and frequency.candidates("movie")
    assert frequency.fingerprint != wn_set.build(["good", "movie"]).fingerprint
    assert wn_set.build(["good", "movie"], min_similarity=0.6).fingerprint != wn_set.build(["good", "movie"]).fingerprint


def test_cache_is_written_reused_and_rebuilt_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTATTACK_RIFT_HOME", str(tmp_path))
    first = wn_set.load(["movie"])
    files = list((tmp_path / "synonyms").glob("wordnet-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["table"]["movie"] == first.candidates("movie")
    started = time.perf_counter()
    again = wn_set.load(["movie"])
    assert again.fingerprint == first.fingerprint and time.perf_counter() - started < 1.0
    files[0].write_text("{damaged")
    assert wn_set.load(["movie"]).fingerprint == first.fingerprint
    assert json.loads(files[0].read_text())["name"] == "wordnet"


def test_bad_settings():
    with pytest.raises(RiftUserError, match="unknown WordNet synonym setting"):
        wn_set.settings_for(threshold=0.3)
    with pytest.raises(RiftUserError, match="ranking"):
        wn_set.settings_for(ranking="random")
