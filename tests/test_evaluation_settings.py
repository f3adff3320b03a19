"""Resolved settings in the evaluation's identity: every record carries what its attack ran with
(encoder and threshold, search settings, package versions), and a resume that would add records made
with other settings is refused in one line naming the keys."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from textattack_rift.errors import RiftUserError
from textattack_rift.evaluation import settings, worker
from textattack_rift.evaluation.records import read_records, write_records

TEXTS = ["a gripping , beautifully acted story", "dull and lifeless from start to finish",
         "the best film of the year", "an awful , boring mess"]


@pytest.fixture()
def data_file(tmp_path) -> Path:
    path = tmp_path / "four.csv"
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["text", "label"])
        for i, text in enumerate(TEXTS):
            out.writerow([text, 1 - i % 2])
    return path


def test_settings_are_read_from_the_built_attacks(tiny_bert_dir):
    attacks = worker.load_attack_set(str(tiny_bert_dir), None, {"rift-genetic": {"lm": "none", "pop_size": 7}})
    textfooler = attacks.settings("rift-textfooler")
    # encoder=auto, as resolved here (offline, TF-Hub unreachable): the offline USE at TextFooler's threshold
    assert textfooler["options"]["sentence_encoder"] == "use-offline"
    encoder = [c for c in textfooler["constraints"] if c["class"].endswith("OfflineUniversalSentenceEncoder")]
    assert len(encoder) == 1 and encoder[0]["threshold"] == textfooler["options"]["similarity"] == 0.840845057
    assert encoder[0]["window_size"] == 15 and encoder[0]["metric"] == "angular"
    genetic = attacks.settings("rift-genetic")
    assert genetic["search_method"]["pop_size"] == 7 and genetic["search_method"]["max_iters"] == 40
    assert genetic["packages"]["torch"] == torch.__version__ and genetic["packages"]["textattack"]
    assert attacks.settings("pwws")["search_method"]["class"].endswith("GreedyWordSwapWIR")
    flat = settings.flatten(textfooler)
    assert flat["options.sentence_encoder"] == "use-offline" and "packages.transformers" in flat
    diffs = settings.differences(textfooler, {**textfooler, "options": {**textfooler["options"], "similarity": 0.9}})
    assert [k for k, _, _ in diffs] == ["options.similarity"]


def _evaluate(model, data, out, **kwargs):
    from textattack_rift import evaluate

    return evaluate(str(model), dataset=str(data), split="train", attacks=["rift-textfooler"], num_examples=None,
                    out_dir=out, progress=False, **kwargs)


def _edited(records, **changes):
    """The records as another run would have made them: ``changes`` maps a section to its new entries."""
    out = []
    for record in records:
        new = dict(record["settings"])
        for section, entries in changes.items():
            new[section] = {**new[section], **entries}
        out.append({**record, "settings": new})
    return out


@pytest.mark.slow
def test_resuming_with_a_different_resolved_encoder_is_refused(tiny_bert_dir, data_file, tmp_path, monkeypatch):
    out = tmp_path / "evaluation"
    _evaluate(tiny_bert_dir, data_file, out)
    results = out / "results.jsonl"
    records = read_records(results)
    assert len(records) == 4 and {r["settings"]["options"]["sentence_encoder"] for r in records} == {"use-offline"}
    calls = []
    real = worker.attack_one
    monkeypatch.setattr(worker, "attack_one", lambda a, n, ex, s: calls.append(ex[0]) or real(a, n, ex, s))

    # three records made where encoder=auto found USE (same explicit arguments); one pair still to do
    write_records(results, _edited(records[:3], options={"sentence_encoder": "use"}))
    with pytest.raises(RiftUserError) as err:
        _evaluate(tiny_bert_dir, data_file, out)
    message = str(err.value)
    assert "holds rift-textfooler results made with other settings: options.sentence_encoder (use, now use-offline)" in message
    assert "\n" not in message and calls == [] and len(read_records(results)) == 3  # nothing attacked, nothing lost

    # made before a torch upgrade
    write_records(results, _edited(records[:3], packages={"torch": "0.0.1"}))
    with pytest.raises(RiftUserError, match=r"packages\.torch \(0\.0\.1, now "):
        _evaluate(tiny_bert_dir, data_file, out)
    assert calls == []

    # records made with the same settings resume: only the missing pair is attacked
    write_records(results, records[:3])
    _evaluate(tiny_bert_dir, data_file, out)
    assert calls == [records[3]["example"]] and len(read_records(results)) == 4
