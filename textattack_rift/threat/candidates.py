"""Sub-token candidate tensors for RIFT's embedding-space adversary (RIFT-SPEC section 6).

For every token position the adversary mixes the embeddings of K candidate tokens; slot 0 is the token
itself. Words and their positions are defined the way TextAttack's attacks define them:

- a word is what ``AttackedText.words`` gives (TextAttack's ``words_from_text``), with its character
  span in its column;
- a token belongs to the word whose span contains it (tokenised with ``return_offsets_mapping``, no
  ``is_split_into_words``, so the model sees exactly the text an attack would send); tokens outside every
  word (punctuation between words, such as the final "."), special tokens and padding get
  ``word_index == -1`` and only slot 0;
- a token that crosses a word's boundary (possible with some byte-level tokenizers) still gets that
  word's index, but the word then gets no candidates: its sub-tokens do not spell the word alone;
- a word of k sub-tokens takes only candidates that also tokenise to exactly k sub-tokens, and
  candidate j's i-th sub-token sits at the word's i-th position, so one weight per (word, candidate) can
  be shared by the k positions;
- a word gets candidates only if its tokens in context equal its tokenisation on its own (which also
  rules out a word cut by truncation), its column is perturbable, it is not a protected stop word, and it
  has synonyms; candidates that tokenise like the word itself, contain the unknown token, or repeat an
  earlier candidate's ids are skipped, and at most K - 1 are kept.

Candidate token ids are computed once per (synonym set, tokenizer content), in one batched call, and
shared by every builder whose tokenizer gives the same ids: two tokenizer objects loaded from the same
files (the three models of one run, a trainer and the ASCC attack) share one table instead of
tokenising the whole synonym set again (about 4 s for WordNet's 67k words on one CPU core). A batch
then calls the tokenizer once for its texts and only for word forms it has never seen (capitalised
forms, for a cased tokenizer).
"""

from __future__ import annotations

import bisect
import collections
import hashlib
import json
import weakref
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import torch

from textattack_rift.errors import RiftUserError
from textattack_rift.threat.columns import default_column_names
from textattack_rift.threat.words import split_words, word_spans

DEFAULT_MAX_CANDIDATES = 9  # slot 0 + up to 8 synonyms, the counter-fitted table's maximum



class _FormCache(dict):
    """``{string: token ids}`` of one tokenizer content (``identity``); ``precomputed``: the fingerprints
    of the synonym sets already tokenised into it."""

    def __init__(self, identity: str):
        super().__init__()
        self.identity = identity
        self.precomputed: set[str] = set()


# The tables of the last few tokenizer contents, kept after their tokenizers are gone: `run` evaluates
# its models one after the other, each with a tokenizer of its own that is discarded before the next
# is loaded; a weak table would die with each of them. A few, because one table (WordNet's 67k words)
# holds about 10 MB.
KEEP_CONTENTS = 4
_FORM_CACHES: "collections.OrderedDict[str, _FormCache]" = collections.OrderedDict()
# tokenizer -> its table, so that a living tokenizer keeps its table even when the others pushed it out
_TOKENIZER_CACHES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def tokenizer_identity(tokenizer) -> str:
    """A digest of what decides the ids a fast tokenizer gives a string: its class, its Rust tokenizer's
    serialisation (normaliser, pre-tokeniser, vocabulary and merges, added tokens, post-processor) and
    ``split_special_tokens``; not the truncation and padding state, which every call sets for itself.
    Computed afresh for each builder (a few ms), so a tokenizer changed in place (``add_tokens``) gets
    a table of its own instead of ids tokenised before the change."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    kind = type(tokenizer).__module__ + "." + type(tokenizer).__qualname__
    split = bool(getattr(tokenizer, "split_special_tokens", False))
    blob = json.dumps([kind, split, state], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _form_cache(tokenizer) -> _FormCache:
    identity = tokenizer_identity(tokenizer)
    held = _TOKENIZER_CACHES.get(tokenizer)
    cache = held if held is not None and held.identity == identity else _FORM_CACHES.get(identity)
    if cache is None:
        cache = _FormCache(identity)
    _FORM_CACHES[identity] = cache
    _FORM_CACHES.move_to_end(identity)
    while len(_FORM_CACHES) > KEEP_CONTENTS:
        _FORM_CACHES.popitem(last=False)
    _TOKENIZER_CACHES[tokenizer] = cache
    return cache


@dataclass
class CandidateTensors:
    input_ids: torch.LongTensor  # [B, T], padded to the longest in the batch
    attention_mask: torch.LongTensor  # [B, T]
    token_type_ids: torch.LongTensor | None  # [B, T] when the tokenizer returns them (pairs: segment ids)
    candidate_ids: torch.LongTensor  # [B, T, K]; slot 0 == input_ids
    candidate_mask: torch.BoolTensor  # [B, T, K]; slot 0 True everywhere; same across one word's positions
    word_index: torch.LongTensor  # [B, T]; word owning the token (over all columns); -1: special/padding/outside words

    def to(self, device) -> "CandidateTensors":
        return CandidateTensors(
            **{f.name: (None if getattr(self, f.name) is None else getattr(self, f.name).to(device)) for f in fields(self)}
        )


class CandidateBuilder:
    """Texts (or pairs) -> :class:`CandidateTensors`, under one threat model and one fast tokenizer.

    Args:
        threat_model: a :class:`~textattack_rift.threat.threat_model.ThreatModel`, or a
            :class:`~textattack_rift.threat.synonyms.base.SynonymSet` (default constraints), or a spec
            string (``wordnet``/``counterfitted``/path).
        tokenizer: a fast (Rust-backed) Hugging Face tokenizer.
        max_candidates: K, the number of slots including slot 0 (fixed, so shapes are stable).
        max_length: truncate to this many tokens (None: no truncation).
        column_names: names of the input columns, for threat models that name their perturbable
            columns (default: ``text``, or ``premise``/``hypothesis`` for pairs).
    """

    def __init__(
        self,
        threat_model,
        tokenizer,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_length: int | None = None,
        column_names: Sequence[str] | None = None,
    ):
        from textattack_rift.threat.synonyms.base import SynonymSet
        from textattack_rift.threat.threat_model import ThreatModel

        if isinstance(threat_model, (SynonymSet, str)):
            threat_model = ThreatModel(threat_model)
        if not isinstance(threat_model, ThreatModel):
            raise TypeError(f"threat_model must be a ThreatModel or SynonymSet, got {type(threat_model).__name__}")
        if not getattr(tokenizer, "is_fast", False):
            raise RiftUserError(
                f"candidate tensors need a fast (Rust) tokenizer for offsets, got {type(tokenizer).__name__}: "
                "load it with AutoTokenizer.from_pretrained(name, use_fast=True)"
            )
        if not isinstance(max_candidates, int) or max_candidates < 1:
            raise RiftUserError(f"max_candidates must be an integer >= 1 (slot 0 is the token itself), got {max_candidates!r}")
        if tokenizer.pad_token_id is None:
            raise RiftUserError(
                f"tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no pad token: set tokenizer.pad_token first"
            )
        self.threat_model = threat_model
        self.tokenizer = tokenizer
        self.max_candidates = max_candidates
        self.max_length = max_length
        self.column_names = tuple(column_names) if column_names else None
        self.pad_id = int(tokenizer.pad_token_id)
        self.unk_id = tokenizer.unk_token_id
        self.forms_tokenized = 0  # word forms tokenised by this builder after precomputation (for tests)
        self._forms = _form_cache(tokenizer)
        self._case_folded = self._probe_case_folding()
        self._space_sensitive = self._probe_space_sensitivity()
        self._entries: dict[tuple[str, bool], tuple[tuple[int, ...], list[tuple[int, ...]]] | None] = {}
        self._precompute()

    # -- tokenizer properties ------------------------------------------------------------------
    def _ids(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, add_special_tokens=False)["input_ids"]

    def _probe_case_folding(self) -> bool:
        # An uncased tokenizer maps "Good", "GOOD" and "good" to the same ids: one cache entry serves all.
        probe = ["Good Movie", "GOOD MOVIE", "good movie"]
        first, *rest = self._ids(probe)
        return all(ids == first for ids in rest)

    def _probe_space_sensitivity(self) -> bool:
        # Byte-level BPE (RoBERTa, GPT-2) marks a preceding space inside the token: "good" != " good".
        plain, spaced = self._ids(["good", " good"])
        return plain != spaced

    def _key(self, form: str, space: bool) -> str:
        form = form.lower() if self._case_folded else form
        return " " + form if space and self._space_sensitive else form

    def _tokenize_forms(self, keys) -> int:
        missing = sorted({k for k in keys if k not in self._forms})
        if missing:
            for key, ids in zip(missing, self._ids(missing)):
                self._forms[key] = tuple(ids)
        return len(missing)

    def _precompute(self) -> None:
        synonyms = self.threat_model.synonyms
        done = self._forms.precomputed
        if synonyms.fingerprint in done:
            return
        forms = set()
        for word, candidates in synonyms.items():
            forms.add(word)
            forms.update(candidates)
        spaces = (False, True) if self._space_sensitive else (False,)
        self._tokenize_forms(self._key(form, space) for form in forms for space in spaces)
        done.add(synonyms.fingerprint)

    # -- per word ------------------------------------------------------------------------------
    def _entry_key(self, word: str, space: bool) -> tuple[str, bool]:
        return (word.lower() if self._case_folded else word, space and self._space_sensitive)

    def _prepare_entries(self, needed: set[tuple[str, bool]]) -> None:
        """Compute (word ids, candidate ids) for new words, with one tokenizer call for unseen forms."""
        todo = {}
        for word, space in needed:
            key = self._entry_key(word, space)
            if key in self._entries or key in todo:
                continue
            todo[key] = (word, space, self.threat_model.swap_candidates(word))
        forms = []
        for word, space, candidates in todo.values():
            if candidates:
                forms.append(self._key(word, space))
                forms.extend(self._key(c, space) for c in candidates)
        self.forms_tokenized += self._tokenize_forms(forms)
        limit = self.max_candidates - 1
        for key, (word, space, candidates) in todo.items():
            entry = None
            own = self._forms.get(self._key(word, space)) if candidates else None
            if own and limit > 0:
                kept: list[tuple[int, ...]] = []
                seen = {own}
                for candidate in candidates:
                    ids = self._forms[self._key(candidate, space)]
                    if len(ids) != len(own) or ids in seen or (self.unk_id is not None and self.unk_id in ids):
                        continue
                    seen.add(ids)
                    kept.append(ids)
                    if len(kept) == limit:
                        break
                if kept:
                    entry = (own, kept)
            self._entries[key] = entry

    def candidate_token_ids(self, word: str, space: bool = True) -> list[tuple[int, ...]]:
        """The candidate id tuples ``word`` would get (for inspection and tests)."""
        self._prepare_entries({(word, space)})
        entry = self._entries[self._entry_key(word, space)]
        return [] if entry is None else list(entry[1])

    # -- per batch -----------------------------------------------------------------------------
    def _rows(self, texts) -> list[tuple[str, ...]]:
        if isinstance(texts, str):
            raise RiftUserError("give a list of texts (or of (premise, hypothesis) pairs), not a single string")
        if not isinstance(texts, (list, tuple)) or len(texts) == 0:
            raise RiftUserError("candidate tensors need a non-empty list of texts or of (premise, hypothesis) pairs")
        rows = []
        for item in texts:
            row = (item,) if isinstance(item, str) else tuple(item) if isinstance(item, (list, tuple)) else None
            if row is None or not row or not all(isinstance(col, str) for col in row):
                raise RiftUserError(f"each input must be a string or a tuple of strings, got {item!r}")
            rows.append(row)
        widths = {len(row) for row in rows}
        if len(widths) != 1:
            raise RiftUserError(f"inputs mix {sorted(widths)} columns: give all single texts or all pairs")
        if widths.pop() > 2:
            raise RiftUserError("at most two input columns (a text pair) are supported by tokenizers")
        return rows

    def __call__(self, texts: list[str] | list[tuple[str, str]]) -> CandidateTensors:
        rows = self._rows(texts)
        n_columns = len(rows[0])
        names = self.column_names or default_column_names(n_columns)
        if len(names) != n_columns:
            raise RiftUserError(f"column_names {list(names)} do not match inputs of {n_columns} column(s)")
        allowed = self.threat_model.perturbable_column_indices(names)
        synonyms = self.threat_model.synonyms

        encoding = self.tokenizer(
            *[list(column) for column in zip(*rows)],
            padding="longest",
            truncation=self.max_length is not None,
            max_length=self.max_length,
            return_offsets_mapping=True,
        )
        input_ids = np.asarray(encoding["input_ids"], dtype=np.int64)
        batch, length = input_ids.shape
        word_index = np.full((batch, length), -1, dtype=np.int64)
        plans = []  # (row, positions, word, space) for words that may get candidates
        for b, row in enumerate(rows):
            words = [split_words(column) for column in row]
            spans = [word_spans(column, ws) for column, ws in zip(row, words)]
            starts = [[s for s, _ in col] for col in spans]
            base = np.cumsum([0] + [len(ws) for ws in words])
            positions: dict[int, list[int]] = {}
            crossing: set[int] = set()
            sequence_ids = encoding.sequence_ids(b)
            offsets = encoding["offset_mapping"][b]
            for t, column in enumerate(sequence_ids):
                if column is None:
                    continue
                begin, end = offsets[t]
                if begin >= end:
                    continue
                owner = self._owner(begin, end, starts[column], spans[column])
                if owner is None:
                    continue
                local, crosses = owner
                g = int(base[column]) + local
                word_index[b, t] = g
                positions.setdefault(g, []).append(t)
                if crosses:
                    crossing.add(g)
            for column in allowed:
                for local, word in enumerate(words[column]):
                    g = int(base[column]) + local
                    tokens = positions.get(g)
                    if not tokens or g in crossing or tokens != list(range(tokens[0], tokens[-1] + 1)):
                        continue
                    if self.threat_model.is_protected(word) or word not in synonyms:
                        continue
                    begin = spans[column][local][0]
                    space = begin > 0 and row[column][begin - 1].isspace()
                    plans.append((b, tokens, word, space))

        self._prepare_entries({(word, space) for _, _, word, space in plans})
        candidate_ids = np.repeat(input_ids[:, :, None], self.max_candidates, axis=2)
        candidate_ids[:, :, 1:] = self.pad_id
        candidate_mask = np.zeros((batch, length, self.max_candidates), dtype=bool)
        candidate_mask[:, :, 0] = True
        for b, tokens, word, space in plans:
            entry = self._entries[self._entry_key(word, space)]
            if entry is None:
                continue
            own, kept = entry
            if tuple(input_ids[b, tokens].tolist()) != own:  # context or truncation changed the word's tokens
                continue
            for j, ids in enumerate(kept, start=1):
                candidate_ids[b, tokens, j] = ids
                candidate_mask[b, tokens, j] = True

        token_type_ids = encoding.get("token_type_ids")
        return CandidateTensors(
            input_ids=torch.from_numpy(input_ids),
            attention_mask=torch.tensor(encoding["attention_mask"], dtype=torch.long),
            token_type_ids=None if token_type_ids is None else torch.tensor(token_type_ids, dtype=torch.long),
            candidate_ids=torch.from_numpy(candidate_ids),
            candidate_mask=torch.from_numpy(candidate_mask),
            word_index=torch.from_numpy(word_index),
        )

    @staticmethod
    def _owner(begin: int, end: int, starts: list[int], spans: list[tuple[int, int]]) -> tuple[int, bool] | None:
        """(word, crosses its boundary) for the token [begin, end), or None if it lies outside every word."""
        j = bisect.bisect_right(starts, begin) - 1
        if j >= 0 and begin < spans[j][1]:
            return j, end > spans[j][1]
        nxt = j + 1
        if nxt < len(spans) and spans[nxt][0] < end:  # starts outside, ends inside the next word
            return nxt, True
        return None
