"""Candidate ids shared by tokenizers of the same content: one table per content, never a stale one."""

from __future__ import annotations

import collections
import gc
import weakref

import pytest
import torch

from textattack_rift.threat import candidates
from textattack_rift.threat.candidates import CandidateBuilder, tokenizer_identity
from textattack_rift.threat.synonyms.base import SynonymSet
from textattack_rift.threat.threat_model import ThreatModel

# a table of its own, so that no other test's builder has tokenised it for these tokenizers
TABLE = {
    "good": ["great", "fine", "excellent"],
    "movie": ["film", "picture", "flick"],
    "blorfy": ["great", "snarkle", "grumpus"],  # out of vocabulary: b ##lor ##fy, until a test adds it
}
TEXTS = ["The GOOD movie, blorfy!", "a good film about a blorfy movie"]


def _load(minilm_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_dir))


def _threat():
    return ThreatModel(SynonymSet.from_dict("sharing", TABLE))


def _same(a, b) -> bool:
    return all(
        (x is None and y is None) or torch.equal(x, y)
        for x, y in [(a.input_ids, b.input_ids), (a.attention_mask, b.attention_mask),
                     (a.candidate_ids, b.candidate_ids), (a.candidate_mask, b.candidate_mask),
                     (a.word_index, b.word_index), (a.token_type_ids, b.token_type_ids)]
    )


def _counting_calls(monkeypatch, tokenizer) -> list:
    calls = []
    original = type(tokenizer).__call__

    def counting(self, *args, **kwargs):
        calls.append(list(args[0]) if args and isinstance(args[0], list) else args[0] if args else None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "__call__", counting)
    return calls


def test_two_tokenizers_loaded_from_the_same_files_share_one_table(minilm_dir, monkeypatch):
    first, second = _load(minilm_dir), _load(minilm_dir)
    assert first is not second and tokenizer_identity(first) == tokenizer_identity(second)
    threat = _threat()
    built_first = CandidateBuilder(threat, first)(TEXTS)

    calls = _counting_calls(monkeypatch, second)
    builder = CandidateBuilder(threat, second)
    monkeypatch.undo()
    forms = {"blorfy", "snarkle", "grumpus", "flick"}  # words of the table, not of the tokenizer probes
    tokenised = [c for c in calls if isinstance(c, list) and forms & set(c)]
    assert not tokenised, f"the second tokenizer tokenised the synonym set again: {tokenised}"
    assert builder._forms is CandidateBuilder(threat, first)._forms

    shared = builder(TEXTS)
    monkeypatch.setattr(candidates, "_FORM_CACHES", collections.OrderedDict())
    monkeypatch.setattr(candidates, "_TOKENIZER_CACHES", weakref.WeakKeyDictionary())
    fresh = CandidateBuilder(threat, _load(minilm_dir))(TEXTS)  # nothing shared: computed afresh
    assert _same(shared, fresh) and _same(built_first, fresh)
    assert bool(fresh.candidate_mask[..., 1:].any())


def test_the_table_outlives_a_discarded_tokenizer(minilm_dir, monkeypatch):
    """`run` evaluates its models one after the other, each loading its own tokenizer and dropping it
    before the next: the next one still finds the table."""
    threat = _threat()
    first = _load(minilm_dir)
    table = weakref.ref(CandidateBuilder(threat, first)._forms)  # nothing of the test holds it
    probe = weakref.ref(first)
    del first
    gc.collect()
    assert probe() is None
    second = _load(minilm_dir)
    calls = _counting_calls(monkeypatch, second)
    builder = CandidateBuilder(threat, second)
    monkeypatch.undo()
    assert table() is not None and builder._forms is table()
    assert not [c for c in calls if isinstance(c, list) and "snarkle" in c]


def test_only_the_last_few_contents_are_kept_after_their_tokenizers(minilm_dir, monkeypatch):
    monkeypatch.setattr(candidates, "_FORM_CACHES", collections.OrderedDict())
    threat = _threat()
    for k in range(candidates.KEEP_CONTENTS + 2):
        tokenizer = _load(minilm_dir)
        tokenizer.add_tokens([f"extra{k}"])  # another content each time
        CandidateBuilder(threat, tokenizer)
    assert len(candidates._FORM_CACHES) == candidates.KEEP_CONTENTS


def test_a_tokenizer_changed_in_place_gets_ids_of_its_new_content(minilm_dir):
    tokenizer = _load(minilm_dir)
    threat = _threat()
    before = CandidateBuilder(threat, tokenizer)
    assert len(before.candidate_token_ids("blorfy")[0]) == 3  # b ##lor ##fy: 3-piece candidates only
    identity = tokenizer_identity(tokenizer)
    tokenizer.add_tokens(["blorfy"])
    assert tokenizer_identity(tokenizer) != identity

    batch = CandidateBuilder(threat, tokenizer)(["blorfy movie"])
    tokens = tokenizer.convert_ids_to_tokens(batch.input_ids[0])
    position = tokens.index("blorfy")
    kept = [tokenizer.convert_ids_to_tokens(int(i)) for i, m in
            zip(batch.candidate_ids[0, position, 1:], batch.candidate_mask[0, position, 1:]) if m]
    # oracle: each candidate tokenised alone by the changed tokenizer; only one-piece ones fit
    expected = [c for c in TABLE["blorfy"] if len(tokenizer(c, add_special_tokens=False)["input_ids"]) == 1]
    assert kept == expected == ["great"]


def test_identity_ignores_the_truncation_and_padding_a_call_leaves_behind(minilm_dir):
    tokenizer = _load(minilm_dir)
    identity = tokenizer_identity(tokenizer)
    tokenizer(["a b c", "a"], padding="max_length", truncation=True, max_length=4)
    assert tokenizer_identity(tokenizer) == identity


@pytest.mark.parametrize("lower", [True, False])
def test_different_content_does_not_share(minilm_dir, lower):
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast.from_pretrained(str(minilm_dir), do_lower_case=lower)
    assert (tokenizer_identity(tokenizer) == tokenizer_identity(_load(minilm_dir))) is lower
