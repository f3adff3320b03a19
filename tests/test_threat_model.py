"""ThreatModel: JSON round trip, fingerprints, the CLI mapping, and a cheap package import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.threat.synonyms import registry
from textattack_rift.threat.synonyms.base import SynonymSet
from textattack_rift.threat.threat_model import FILENAME, ThreatModel

TABLE = {"good": ["great", "fine"], "movie": ["film", "picture"]}


@pytest.fixture
def table_path(tmp_path):
    path = tmp_path / "syn.json"
    path.write_text(json.dumps(TABLE))
    registry.clear_cache()
    return path


def test_round_trip_through_a_directory_and_a_file(table_path, tmp_path):
    threat = ThreatModel(str(table_path), max_word_ratio=0.2, pos_check=True)
    written = threat.save(tmp_path / "model")
    assert written == tmp_path / "model" / FILENAME
    data = json.loads(written.read_text())
    assert data["synonyms"]["spec"] == str(table_path.resolve()) and data["synonyms"]["size"] == 2
    assert data["fingerprint"] == threat.fingerprint and not list((tmp_path / "model").glob(".*tmp"))
    for source in (tmp_path / "model", written):
        loaded = ThreatModel.load(source)
        assert loaded == threat and loaded.fingerprint == threat.fingerprint
        assert (loaded.max_word_ratio, loaded.pos_check, loaded.stopwords) == (0.2, True, True)
        assert loaded.synonyms.candidates("good") == ["great", "fine"]
    assert ThreatModel.from_json(threat.to_json()).to_dict() == threat.to_dict()


def test_fingerprint_changes_with_the_set_and_every_constraint(table_path, tmp_path):
    base = ThreatModel(str(table_path))
    variants = [
        ThreatModel(str(table_path), stopwords=False),
        ThreatModel(str(table_path), max_word_ratio=0.2),
        ThreatModel(str(table_path), max_word_ratio=0.3),
        ThreatModel(str(table_path), pos_check=True),
        ThreatModel(str(table_path), perturbable_columns=["premise"]),
        ThreatModel(SynonymSet.from_dict("x", {**TABLE, "bad": ["poor"]})),
        ThreatModel(SynonymSet.from_dict("x", {"good": ["fine", "great"], "movie": ["film", "picture"]})),
    ]
    prints = {base.fingerprint} | {v.fingerprint for v in variants}
    assert len(prints) == 1 + len(variants)
    # Same contents under another name or path: the same threat model.
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(TABLE))
    assert ThreatModel(str(copy)).fingerprint == base.fingerprint
    assert ThreatModel(SynonymSet.from_dict("mem", TABLE)).fingerprint == base.fingerprint


def test_loading_with_different_synonyms_is_an_error(table_path, tmp_path):
    threat = ThreatModel(str(table_path))
    threat.save(tmp_path)
    table_path.write_text(json.dumps({**TABLE, "bad": ["poor"]}))  # the table changed since the run
    loaded = ThreatModel.load(tmp_path)
    with pytest.raises(RiftUserError, match="expects"):
        loaded.synonyms
    with pytest.raises(RiftUserError, match="expects"):
        ThreatModel.load(tmp_path, synonyms=SynonymSet.from_dict("other", {"good": ["nice"]}))


def test_in_memory_set_must_be_passed_back(tmp_path):
    synonyms = SynonymSet.from_dict("mem", TABLE)
    ThreatModel(synonyms, stopwords=False).save(tmp_path)
    loaded = ThreatModel.load(tmp_path)
    assert loaded.fingerprint == ThreatModel(synonyms, stopwords=False).fingerprint  # known without the set
    with pytest.raises(ResourceMissing, match="in-memory synonym set 'mem'"):
        loaded.synonyms
    assert ThreatModel.load(tmp_path, synonyms=synonyms).synonyms is synonyms


def test_edited_file_is_detected(table_path, tmp_path):
    path = ThreatModel(str(table_path)).save(tmp_path)
    data = json.loads(path.read_text())
    data["max_word_ratio"] = 0.5
    path.write_text(json.dumps(data))
    with pytest.raises(RiftUserError, match="edited"):
        ThreatModel.load(path)
    del data["fingerprint"]
    path.write_text(json.dumps(data))
    assert ThreatModel.load(path).max_word_ratio == 0.5


def test_bad_files(tmp_path):
    with pytest.raises(ResourceMissing, match=FILENAME):
        ThreatModel.load(tmp_path)
    (tmp_path / FILENAME).write_text('{"hello": 1}')
    with pytest.raises(RiftUserError, match="not a textattack-rift threat model"):
        ThreatModel.load(tmp_path)
    with pytest.raises(RiftUserError, match="invalid"):
        ThreatModel.from_json("{")


def test_from_cli_maps_strings(table_path):
    threat = ThreatModel.from_cli(str(table_path), stopwords="false", max_word_ratio="0.25", pos_check="yes",
                                  perturbable_columns="hypothesis")
    assert (threat.stopwords, threat.max_word_ratio, threat.pos_check) == (False, 0.25, True)
    assert threat.perturbable_columns == ["hypothesis"]
    assert ThreatModel.from_cli().synonym_spec == "wordnet"
    assert ThreatModel.from_cli("Counterfitted").synonym_spec == "counterfitted"
    wordnet = ThreatModel.from_cli("wordnet", min_similarity=0.4)
    assert wordnet.synonym_build_args == {"min_similarity": 0.4}
    with pytest.raises(RiftUserError):
        ThreatModel.from_cli(str(table_path), max_word_ratio="lots")
    with pytest.raises(RiftUserError):
        ThreatModel.from_cli(str(table_path), pos_check="maybe")


def test_describe_is_one_line(table_path):
    threat = ThreatModel(str(table_path), max_word_ratio=0.2)
    threat.synonyms
    line = threat.describe()
    assert "syn" in line and "2 words" in line and "0.2" in line and "\n" not in line


def test_package_import_is_cheap():
    code = (
        "import sys, textattack_rift.threat as t; "
        "assert 'textattack' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules); "
        "assert sorted(t.__all__) == sorted(dir(t))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
