"""Candidate tensors, checked position by position against the tokenizer."""

from __future__ import annotations

import pytest
import torch

from textattack_rift.errors import RiftUserError
from textattack_rift.threat.candidates import CandidateBuilder, CandidateTensors
from textattack_rift.threat.synonyms.base import SynonymSet
from textattack_rift.threat.threat_model import ThreatModel

TABLE = {
    "good": ["great", "fine", "astounding", "excellent"],  # "astounding" is 3 sub-tokens: not for a 1-token word
    "movie": ["film", "picture", "flick", "cinema"],
    "blorfy": ["snarkle", "great", "grumpus", "credulous"],  # out of vocabulary: b ##lor ##fy
    "zzyzx": ["qwxyz", "film"],  # z ##zy ##z ##x, and q ##w ##xy ##z
    "naïve": ["naive", "simple", "gullible"],  # "naive" tokenises like "naïve": no candidate at all
    "the": ["a"],  # a stop word
    "well-made": ["well-crafted", "solid"],  # one word for TextAttack, three sub-tokens
    "sleeps": ["naps", "rests"],
}
TRICKY = 'The GOOD movie, "naïve" Blorfy; zzyzx well-made!! 😀 Good'
# token, word index, candidate sub-tokens at this position (slot 1..)
EXPECTED = [
    ("[CLS]", -1, []),
    ("the", 0, []),
    ("good", 1, ["great", "fine", "excellent"]),
    ("movie", 2, ["film", "picture", "flick", "cinema"]),
    (",", -1, []),
    ('"', -1, []),
    ("naive", 3, ["simple"]),
    ('"', -1, []),
    ("b", 4, ["s", "gr", "cr"]),
    ("##lor", 4, ["##nar", "##ump", "##ed"]),
    ("##fy", 4, ["##kle", "##us", "##ulous"]),
    (";", -1, []),
    ("z", 5, ["q"]),
    ("##zy", 5, ["##w"]),
    ("##z", 5, ["##xy"]),
    ("##x", 5, ["##z"]),
    ("well", 6, ["well"]),
    ("-", 6, ["-"]),
    ("made", 6, ["crafted"]),
    ("!", -1, []),
    ("!", -1, []),
    ("[UNK]", -1, []),  # the emoji is no word for TextAttack
    ("good", 7, ["great", "fine", "excellent"]),
    ("[SEP]", -1, []),
]


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_dir))


@pytest.fixture(scope="module")
def synonyms():
    return SynonymSet.from_dict("tricky", TABLE)


@pytest.fixture(scope="module")
def builder(synonyms, tokenizer):
    return CandidateBuilder(ThreatModel(synonyms), tokenizer)


def _table(batch: CandidateTensors, b: int, tokenizer):
    rows = []
    for t, token in enumerate(tokenizer.convert_ids_to_tokens(batch.input_ids[b])):
        ids = batch.candidate_ids[b, t].tolist()
        mask = batch.candidate_mask[b, t].tolist()
        rows.append((token, int(batch.word_index[b, t]), [tokenizer.convert_ids_to_tokens(i) for i, m in zip(ids[1:], mask[1:]) if m]))
    return rows


def _check_invariants(batch: CandidateTensors, pad_id: int, k: int):
    B, T = batch.input_ids.shape
    assert batch.candidate_ids.shape == batch.candidate_mask.shape == (B, T, k)
    assert batch.candidate_ids.dtype == torch.long and batch.candidate_mask.dtype == torch.bool
    assert torch.equal(batch.candidate_ids[:, :, 0], batch.input_ids)
    assert bool(batch.candidate_mask[:, :, 0].all())
    assert bool((batch.candidate_ids[~batch.candidate_mask] == pad_id).all())
    for b in range(B):
        for w in batch.word_index[b].unique().tolist():
            positions = (batch.word_index[b] == w).nonzero().flatten()
            if w < 0:
                assert not batch.candidate_mask[b, positions, 1:].any()
                continue
            assert positions.tolist() == list(range(positions[0], positions[-1] + 1))
            masks = batch.candidate_mask[b, positions]
            assert bool((masks == masks[0]).all()), "one word, one set of candidates"
        padding = batch.attention_mask[b] == 0
        assert bool((batch.word_index[b][padding] == -1).all())


def test_tricky_text_position_by_position(builder, tokenizer):
    batch = builder([TRICKY])
    assert tokenizer.convert_ids_to_tokens(batch.input_ids[0]) == tokenizer.convert_ids_to_tokens(tokenizer(TRICKY)["input_ids"])
    assert _table(batch, 0, tokenizer) == EXPECTED
    assert torch.equal(batch.attention_mask[0], torch.ones(len(EXPECTED), dtype=torch.long))
    _check_invariants(batch, tokenizer.pad_token_id, 9)


def test_empty_and_punctuation_only_rows_and_padding_to_the_longest(builder, tokenizer):
    texts = ["", "?!", "Movie", TRICKY]
    batch = builder(texts)
    assert batch.input_ids.shape == (4, len(EXPECTED))  # the longest in the batch, not the model's maximum
    for b in (0, 1):
        assert bool((batch.word_index[b] == -1).all())
        assert batch.candidate_mask[b].sum().item() == len(EXPECTED)  # slot 0 only, padding included
    assert _table(batch, 2, tokenizer)[:3] == [("[CLS]", -1, []), ("movie", 0, TABLE["movie"]), ("[SEP]", -1, [])]
    assert _table(batch, 3, tokenizer) == EXPECTED  # same row whatever else is in the batch
    assert batch.attention_mask.sum(1).tolist() == [2, 4, 3, len(EXPECTED)]
    _check_invariants(batch, tokenizer.pad_token_id, 9)


def test_pairs_perturb_only_the_hypothesis(synonyms, tokenizer, builder):
    batch = builder([("A man sleeps.", "The good movie!"), ("Good movie", "zzyzx")])
    assert _table(batch, 0, tokenizer) == [
        ("[CLS]", -1, []), ("a", 0, []), ("man", 1, []), ("sleeps", 2, []), (".", -1, []), ("[SEP]", -1, []),
        ("the", 3, []), ("good", 4, ["great", "fine", "excellent"]), ("movie", 5, TABLE["movie"]), ("!", -1, []),
        ("[SEP]", -1, []),
    ]
    assert batch.token_type_ids[0].tolist() == [0] * 6 + [1] * 5
    assert _table(batch, 1, tokenizer)[:4] == [("[CLS]", -1, []), ("good", 0, []), ("movie", 1, []), ("[SEP]", -1, [])]
    assert [w for _, w, c in _table(batch, 1, tokenizer) if c] == [2, 2, 2, 2]  # zzyzx in the hypothesis
    _check_invariants(batch, tokenizer.pad_token_id, 9)
    premise = CandidateBuilder(ThreatModel(synonyms, perturbable_columns=["premise"]), tokenizer)
    rows = _table(premise([("A man sleeps.", "The good movie!")]), 0, tokenizer)
    assert rows[3] == ("sleeps", 2, ["rests"])  # "naps" is na ##ps and rows[7] == ("good", 4, [])


def test_stop_words_k_and_truncation(synonyms, tokenizer):
    free = CandidateBuilder(ThreatModel(synonyms, stopwords=False), tokenizer)
    assert _table(free(["The movie"]), 0, tokenizer)[1] == ("the", 0, ["a"])
    small = CandidateBuilder(ThreatModel(synonyms), tokenizer, max_candidates=2)
    batch = small(["good movie"])
    assert batch.candidate_ids.shape[-1] == 2 and _table(batch, 0, tokenizer)[1:3] == [("good", 0, ["great"]), ("movie", 1, ["film"])]
    only_slot0 = CandidateBuilder(ThreatModel(synonyms), tokenizer, max_candidates=1)(["good movie"])
    assert only_slot0.candidate_mask.shape[-1] == 1 and bool(only_slot0.candidate_mask.all())
    # max_length 4 keeps [CLS] good z ##zy ... [SEP]: zzyzx is cut, so it gets no candidates.
    cut = CandidateBuilder(ThreatModel(synonyms), tokenizer, max_length=5)(["good zzyzx"])
    assert _table(cut, 0, tokenizer) == [
        ("[CLS]", -1, []), ("good", 0, ["great", "fine", "excellent"]), ("z", 1, []), ("##zy", 1, []), ("[SEP]", -1, []),
    ]


def test_candidate_ids_are_computed_once(synonyms, tokenizer, monkeypatch):
    calls = []
    original = type(tokenizer).__call__

    def counting(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("text"))
        return original(self, *args, **kwargs)

    builder = CandidateBuilder(ThreatModel(synonyms), tokenizer)
    monkeypatch.setattr(type(tokenizer), "__call__", counting)
    for _ in range(3):
        builder([TRICKY, "Good movie", "GOOD MOVIE"])
    assert len(calls) == 3  # one call per batch: the texts; candidates were tokenised at construction
    assert builder.forms_tokenized == 0


def test_errors(synonyms, tokenizer, minilm_dir, builder):
    from transformers import BertTokenizer

    with pytest.raises(RiftUserError, match="fast"):
        CandidateBuilder(ThreatModel(synonyms), BertTokenizer.from_pretrained(str(minilm_dir)))
    for bad in ([], "one text", [1, 2], [("a", "b"), "c"], [("a", "b", "c")]):
        with pytest.raises(RiftUserError):
            builder(bad)
    with pytest.raises(RiftUserError):
        CandidateBuilder(ThreatModel(synonyms), tokenizer, max_candidates=0)


def test_to_device(builder):
    batch = builder(["good movie"]).to("cpu")
    assert isinstance(batch, CandidateTensors) and batch.input_ids.device.type == "cpu"


# -- a byte-level BPE tokenizer (RoBERTa-style: cased, the space is part of the token) -----------------
@pytest.fixture(scope="module")
def bpe_tokenizer():
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import PreTrainedTokenizerFast

    corpus = ["The good movie was a great film.", "A fine picture, a Great flick!", "good GOOD great Great film movie"] * 3
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=300, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    bpe.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


def test_space_and_case_sensitive_tokenizer(bpe_tokenizer):
    tok = bpe_tokenizer
    synonyms = SynonymSet.from_dict("bpe", {"good": ["great", "fine"], "movie": ["film", "picture", "flick"]})
    builder = CandidateBuilder(ThreatModel(synonyms), tok)
    assert builder._space_sensitive and not builder._case_folded
    text = "Good movie, (good) Good!"
    batch = builder([text])
    enc = tok(text, return_offsets_mapping=True)
    assert batch.input_ids[0].tolist() == enc["input_ids"]

    def ids(s):
        return tuple(tok(s, add_special_tokens=False)["input_ids"])

    # Oracle: each word's candidates tokenised in the word's own context (leading space or not).
    expected = {}
    for start, word in [(0, "Good"), (5, "movie"), (13, "good"), (19, "Good")]:
        space = text[start - 1 : start] == " "
        prefix = " " if space else ""
        own = ids(prefix + word)
        cands = synonyms.recased_candidates(word)
        kept = [ids(prefix + c) for c in cands if len(ids(prefix + c)) == len(own) and ids(prefix + c) != own]
        first = enc.char_to_token(start)
        expected[first] = (own, kept)
    for first, (own, kept) in expected.items():
        positions = list(range(first, first + len(own)))
        assert tuple(batch.input_ids[0, positions].tolist()) == own
        for j, cand in enumerate(kept, start=1):
            assert tuple(batch.candidate_ids[0, positions, j].tolist()) == cand
            assert bool(batch.candidate_mask[0, positions, j].all())
        assert not batch.candidate_mask[0, positions, len(kept) + 1 :].any()
    assert sum(len(kept) for _, kept in expected.values()) > 0
    _check_invariants(batch, tok.pad_token_id, 9)
    assert builder.forms_tokenized > 0  # capitalised forms are tokenised once, on first sight
    seen = builder.forms_tokenized
    builder([text])
    assert builder.forms_tokenized == seen


def test_counterfitted_against_an_independent_oracle(counterfitted_path, tokenizer):
    """Word positions from ``char_to_token`` and candidates from tokenising each candidate on its own."""
    from textattack.shared.utils import words_from_text

    threat = ThreatModel(str(counterfitted_path))
    builder = CandidateBuilder(threat, tokenizer)
    singles = [
        "It's a GREAT, heart-warming film -- the acting is superb & the script brilliant.",
        "Honestly? A dull, lifeless mess; I wouldn't recommend it to anyone.",
        "Spielberg's masterpiece remains astonishingly moving after 30 years.",
    ]
    pairs = [("A woman is playing the guitar.", "Somebody plays an instrument loudly!"), ("Dogs run.", "Animals move quickly.")]
    unk = tokenizer.unk_token_id
    checked = 0
    for texts in (singles, pairs):
        batch = builder(texts)
        _check_invariants(batch, tokenizer.pad_token_id, 9)
        for b, item in enumerate(texts):
            columns = (item,) if isinstance(item, str) else item
            full = tokenizer(*columns)
            g = 0
            for c, column in enumerate(columns):
                cursor = 0
                for word in words_from_text(column):
                    start = column.index(word, cursor)
                    cursor = start + len(word)
                    own = tuple(tokenizer(word, add_special_tokens=False)["input_ids"])
                    first = full.char_to_token(0, start, sequence_index=c)
                    positions = list(range(first, first + len(own)))
                    assert batch.word_index[b, positions].tolist() == [g] * len(own), (word, g)
                    assert tuple(batch.input_ids[b, positions].tolist()) == own
                    expected = []
                    if c == len(columns) - 1 and word.lower() not in threat._stopword_set:
                        for cand in threat.synonyms.recased_candidates(word):
                            cand_ids = tuple(tokenizer(cand, add_special_tokens=False)["input_ids"])
                            if len(cand_ids) == len(own) and cand_ids != own and unk not in cand_ids and cand_ids not in expected:
                                expected.append(cand_ids)
                        expected = expected[:8]
                    got = [
                        tuple(batch.candidate_ids[b, positions, j].tolist())
                        for j in range(1, 9)
                        if batch.candidate_mask[b, positions[0], j]
                    ]
                    assert got == expected, word
                    checked += bool(expected)
                    g += 1
            assert g == int(batch.word_index[b].max()) + 1
    assert checked >= 10
