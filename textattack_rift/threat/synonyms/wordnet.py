"""The offline synonym set: WordNet synonyms, ranked by the default encoder, cached after one build.

For a word w (a lower-case, single-word WordNet lemma):
- candidates are the single-word lemmas of the synsets that list w itself as a lemma (not merely a
  form that WordNet's morphology maps to another lemma), so a base form gets base forms;
- "same part of speech": only the parts of speech that carry at least ``pos_share`` of w's use, as
  counted by WordNet's sense-tagged corpus (add-one smoothed), so "bad" keeps its adjective senses
  and drops "badness" (noun) and "badly" (adverb);
- antonyms of w (in either direction) are excluded;
- ``ranking="encoder"`` (default) orders the candidates by the cosine similarity of the word pair
  under the default sentence encoder and drops those below ``min_similarity``: rare senses ("good" ->
  "commodity") score low, the common ones ("good" -> "well") high. ``ranking="frequency"`` orders
  by sense frequency instead and needs no encoder;
- at most ``max_candidates`` are kept;
- with ``inflections`` (default), the plural of a noun and the inflected forms of a verb get the same
  inflection of the base word's candidates ("movies" -> "films", "saw" -> ... "understood"), using
  lemminflect (a TextAttack dependency), since running text is full of inflected forms that WordNet
  lists only as base forms.
The build is deterministic (fixed word order, length-bucketed encoder batches, similarities rounded)
and its settings go into the set's fingerprint and the cache file's name.
"""

from __future__ import annotations

import functools
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.resources import atomic, paths
from textattack_rift.threat.synonyms.base import SynonymSet, fingerprint_of

NAME = "wordnet"
# Bump when the construction changes, so that old caches (and fingerprints) are not reused.
BUILD_VERSION = 2
DEFAULTS = {
    "max_candidates": 8,
    "min_similarity": 0.3,
    "pos_share": 0.25,
    "ranking": "encoder",
    "encoder": "minilm",
    "inflections": True,
}
RANKINGS = ("encoder", "frequency")
ENCODER_IDS = {"minilm": "sentence-transformers/all-MiniLM-L6-v2"}
SIMILARITY_DECIMALS = 3
ENCODER_BATCH = 512
# Lower-case letters, with inner hyphens or apostrophes: one word for TextAttack's splitter.
WORD_RE = re.compile(r"[a-z]+(?:[-'][a-z]+)*")
_POS_GROUP = {"n": "n", "v": "v", "a": "a", "s": "a", "r": "r"}


def wordnet_reader():
    """NLTK's WordNet reader, loaded; a missing database is a one-line error with the fix."""
    from nltk.corpus import wordnet  # the package's import already put the offline NLTK data on the path

    try:
        wordnet.ensure_loaded()
    except LookupError:
        from textattack_rift.resources.nltk_data import WORDNET_APT_HINT

        raise ResourceMissing(
            f"WordNet is not available to NLTK: install it ({WORDNET_APT_HINT}) and import textattack_rift, "
            "or use --synonyms counterfitted|PATH"
        ) from None
    return wordnet


def settings_for(**overrides) -> dict:
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise RiftUserError(f"unknown WordNet synonym setting(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    settings = {**DEFAULTS, **{k: v for k, v in overrides.items() if v is not None}}
    if settings["ranking"] not in RANKINGS:
        raise RiftUserError(f"WordNet ranking {settings['ranking']!r}: choose one of {RANKINGS}")
    if not isinstance(settings["max_candidates"], int) or settings["max_candidates"] < 1:
        raise RiftUserError("WordNet max_candidates must be a positive integer")
    settings["min_similarity"] = float(settings["min_similarity"])
    settings["pos_share"] = float(settings["pos_share"])
    settings["encoder"] = ENCODER_IDS.get(settings["encoder"], settings["encoder"])
    settings["inflections"] = bool(settings["inflections"])
    if settings["ranking"] != "encoder":  # unused settings must not split fingerprints
        settings["encoder"] = None
        settings["min_similarity"] = None
    return settings


def all_lemma_words(wordnet) -> list[str]:
    """Every lower-case single-word lemma of WordNet, sorted."""
    words = set()
    for pos in ("n", "v", "a", "r"):
        words.update(name for name in wordnet.all_lemma_names(pos) if WORD_RE.fullmatch(name))
    return sorted(words)


def raw_candidates(wordnet, word: str, pos_share: float) -> tuple[dict[str, tuple[int, frozenset]], tuple[str, ...]]:
    """WordNet candidates of ``word`` in WordNet's order (frequent senses first), each with its corpus
    count and the parts of speech it was found under; and the parts of speech kept for ``word``."""
    weight: dict[str, int] = defaultdict(int)
    by_pos: dict[str, dict[str, int]] = defaultdict(dict)
    antonyms: set[str] = set()
    for synset in wordnet.synsets(word):
        lemmas = synset.lemmas()
        mine = [lemma for lemma in lemmas if lemma.name() == word]
        if not mine:  # reached through morphology ("saw" -> "see"): not a sense of this word form
            continue
        group = _POS_GROUP[synset.pos()]
        weight[group] += sum(lemma.count() + 1 for lemma in mine)
        for lemma in mine:
            antonyms.update(a.name() for a in lemma.antonyms())
        found = by_pos[group]
        for lemma in lemmas:
            name = lemma.name()
            if name == word or not WORD_RE.fullmatch(name):
                continue
            if any(a.name() == word for a in lemma.antonyms()):
                continue
            found[name] = max(found.get(name, 0), lemma.count())
    total = sum(weight.values())
    kept = tuple(g for g in sorted(weight, key=lambda g: -weight[g]) if weight[g] >= pos_share * total)
    out: dict[str, tuple[int, frozenset]] = {}
    for group in kept:
        for name, count in by_pos[group].items():
            if name in antonyms:
                continue
            old_count, groups = out.get(name, (0, frozenset()))
            out[name] = (max(old_count, count), groups | {group})
    return out, kept


# Inflections added for nouns and verbs (plural; past, participles, 3rd person): adjective and adverb
# comparatives are left out, since a rule-based "-er" is wrong for most multi-syllable candidates.
_INFLECTION_TAGS = {"n": ("NNS",), "v": ("VBD", "VBG", "VBN", "VBZ")}


@functools.lru_cache(maxsize=1 << 18)
def _inflect(lemma: str, tag: str) -> str | None:
    if not re.fullmatch(r"[a-z]+", lemma):  # hyphenated or with an apostrophe: rules go wrong
        return None
    from lemminflect import getInflection

    forms = getInflection(lemma, tag=tag)
    # Irregular plurals can be two words ("flatfoot" -> "flat feet"): not a word swap.
    return forms[0] if forms and WORD_RE.fullmatch(forms[0]) else None


def _add_inflections(table: dict[str, list[str]], raw: dict, settings: dict) -> dict[str, list[str]]:
    """Give inflected forms of each word the same inflection of its candidates ("movies" -> "films").

    A form that is also a lemma keeps its own candidates first ("saw": "adage", then "understood"...).
    Candidates keep the order of the base word's ranking.
    """
    out = {word: list(cands) for word, cands in table.items()}
    derived: dict[str, list[str]] = {}
    for word in sorted(table):
        candidates, kept = raw[word]
        for group in kept:
            for tag in _INFLECTION_TAGS.get(group, ()):
                form = _inflect(word, tag)
                if not form or form == word or not WORD_RE.fullmatch(form):
                    continue
                entry = derived.setdefault(form, [])
                for cand in table[word]:
                    if group not in candidates[cand][1]:
                        continue
                    inflected = _inflect(cand, tag)
                    if inflected and inflected != form and inflected not in entry:
                        entry.append(inflected)
    for form, cands in sorted(derived.items()):
        merged = out.setdefault(form, [])
        for cand in cands:
            if cand not in merged and cand != form:
                merged.append(cand)
        del merged[settings["max_candidates"] :]
        if not merged:
            del out[form]
    return out


def _base_forms(wordnet, word: str) -> set[str]:
    bases = set()
    for pos in ("n", "v"):
        base = wordnet.morphy(word, pos)
        if base and base != word and WORD_RE.fullmatch(base):
            bases.add(base)
    return bases


class _Encoder:
    """Mean-pooled, L2-normalised sentence embeddings of single words (how all-MiniLM-L6-v2 is used)."""

    def __init__(self, name: str):
        import torch
        from transformers import AutoModel, AutoTokenizer

        from textattack_rift.resources.hub_models import resolve_hub_name

        location = resolve_hub_name(name)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(location)
        self.model = AutoModel.from_pretrained(location).eval()

    def embed(self, words: list[str]) -> dict[str, "object"]:
        torch = self.torch
        ids = self.tokenizer(words, add_special_tokens=True)["input_ids"]
        # Batches of equal length: no padding, so a word's vector does not depend on its neighbours.
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, seq in enumerate(ids):
            buckets[len(seq)].append(i)
        vectors: dict[str, object] = {}
        with torch.inference_mode():
            for length in sorted(buckets):
                members = buckets[length]
                for start in range(0, len(members), ENCODER_BATCH):
                    chunk = members[start : start + ENCODER_BATCH]
                    batch = torch.tensor([ids[i] for i in chunk])
                    hidden = self.model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
                    pooled = torch.nn.functional.normalize(hidden.mean(dim=1), dim=-1)
                    for i, vec in zip(chunk, pooled):
                        vectors[words[i]] = vec
        return vectors


def build(vocabulary: Iterable[str] | None = None, **overrides) -> SynonymSet:
    """Build the set (no cache). ``vocabulary`` restricts the keys (for tests); candidates come from all of WordNet."""
    settings = settings_for(**overrides)
    wordnet = wordnet_reader()
    if vocabulary is None:
        keys = all_lemma_words(wordnet)
    else:
        given = sorted({w.strip().lower() for w in vocabulary if w and w.strip()})
        settings["vocabulary"] = fingerprint_of(given)
        # An inflected word gets its candidates through its base form: add the base forms.
        keys = sorted(set(given) | {base for w in given for base in _base_forms(wordnet, w)})
    settings["wordnet"] = wordnet.get_version()
    settings["build"] = BUILD_VERSION
    raw = {}
    for word in keys:
        found, kept = raw_candidates(wordnet, word, settings["pos_share"])
        if found:
            raw[word] = (found, kept)
    if settings["ranking"] == "encoder":
        table = _rank_by_encoder(raw, settings)
    else:
        table = _rank_by_frequency(raw, settings)
    if settings["inflections"]:
        table = _add_inflections(table, raw, settings)
    if not table:
        raise RiftUserError("the WordNet synonym set came out empty: give a vocabulary of English words")
    # A set restricted to a vocabulary cannot be rebuilt from its name alone.
    spec = NAME if vocabulary is None else None
    build_args = {k: v for k, v in overrides.items() if v is not None}
    # Validated like any table, so that a fresh build and its cache file give the same set and fingerprint.
    return SynonymSet(NAME, table, spec=spec, settings=settings, source="WordNet", build_args=build_args)


def _rank_by_frequency(raw: dict, settings: dict) -> dict[str, list[str]]:
    table = {}
    for word, (found, _kept) in raw.items():
        ranked = sorted(found, key=lambda name: -found[name][0])  # stable: WordNet's order breaks ties
        table[word] = ranked[: settings["max_candidates"]]
    return table


@functools.lru_cache(maxsize=1)
def _encoder(name: str) -> _Encoder:
    # Kept for the process: a second build (another vocabulary or threshold) skips the model load.
    return _Encoder(name)


def _rank_by_encoder(raw: dict, settings: dict) -> dict[str, list[str]]:
    encoder = _encoder(settings["encoder"])
    needed = sorted({w for w in raw} | {name for found, _kept in raw.values() for name in found})
    vectors = encoder.embed(needed)
    table = {}
    for word, (found, _kept) in raw.items():
        anchor = vectors[word]
        scored = []
        for name in found:
            similarity = round(float(anchor @ vectors[name]), SIMILARITY_DECIMALS)
            if similarity >= settings["min_similarity"]:
                scored.append((name, similarity))
        scored.sort(key=lambda item: -item[1])
        if scored:
            table[word] = [name for name, _ in scored[: settings["max_candidates"]]]
    return table


def cache_file(settings: dict) -> Path:
    return paths.cache_root() / "synonyms" / f"wordnet-{fingerprint_of(settings)}.json"


def _cache_key_settings(vocabulary, overrides) -> dict:
    # What the build's result depends on, known before building (the WordNet version is fixed: 3.0).
    settings = settings_for(**overrides)
    if vocabulary is not None:
        settings["vocabulary"] = fingerprint_of(sorted({w.strip().lower() for w in vocabulary if w and w.strip()}))
    settings["build"] = BUILD_VERSION
    return settings


def load(vocabulary: Iterable[str] | None = None, *, cache: bool = True, **overrides) -> SynonymSet:
    """The set, from the cache when built before with the same settings, else built (and cached)."""
    vocabulary = list(vocabulary) if vocabulary is not None else None
    target = cache_file(_cache_key_settings(vocabulary, overrides))
    if cache and target.is_file():
        cached = _read_cache(target, spec=NAME if vocabulary is None else None)
        if cached is not None:
            cached.build_args = {k: v for k, v in overrides.items() if v is not None}
            return cached
    started = time.perf_counter()
    synonyms = build(vocabulary, **overrides)
    synonyms.build_seconds = round(time.perf_counter() - started, 1)
    if cache:
        atomic.write_json(target, {"name": NAME, "settings": synonyms.settings, "table": synonyms.to_table()})
    return synonyms


def _read_cache(target: Path, spec: str | None = NAME) -> SynonymSet | None:
    import json

    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        return SynonymSet(NAME, data["table"], spec=spec, settings=data["settings"], source=str(target))
    except (OSError, ValueError, KeyError, TypeError, RiftUserError):
        return None  # a damaged cache is rebuilt, never trusted


def cached_path(**overrides) -> Path | None:
    target = cache_file(_cache_key_settings(None, overrides))
    return target if target.is_file() else None


def describe() -> dict:
    """For ``doctor``: never builds (a full build takes minutes)."""
    info = {"name": NAME, "available": False, "size": None, "where": str(cache_file(_cache_key_settings(None, {})))}
    try:
        wordnet_reader()
    except RiftUserError as err:
        info["reason"] = str(err)
        return info
    info["available"] = True
    found = cached_path()
    if found is None:
        info["reason"] = "not built yet: the first use builds it from WordNet and caches it (a few minutes)"
        return info
    synonyms = _read_cache(found)
    if synonyms is None:
        info["reason"] = f"cache {found} is damaged: the next use rebuilds it"
        return info
    info.update(size=len(synonyms), fingerprint=synonyms.fingerprint)
    return info
