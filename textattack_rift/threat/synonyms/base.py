"""A synonym set: lower-case word -> ordered candidates, with a name, a size and a fingerprint.

The fingerprint hashes what the set does (its non-empty entries) and how it was made (its settings),
never where it came from, so the same table read from the cache or from a local path tells the same
story, and two runs with different synonyms can always be told apart.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable, Mapping

from textattack_rift.errors import RiftUserError

FINGERPRINT_CHARS = 16


def fingerprint_of(obj) -> str:
    """Short sha256 of a JSON-able object, independent of key order."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]


def recase(original: str, candidate: str) -> str:
    """Give ``candidate`` the capitalisation of ``original``: UPPER stays UPPER, Title stays Title.

    Anything else (lower case, or mixed case such as "iPhone") takes the candidate as the table has it.
    A one-letter capital ("I", "A") counts as Title, since it is usually a sentence start.
    """
    if len(original) > 1 and original.isupper():
        return candidate.upper()
    if original[:1].isupper():
        return candidate[:1].upper() + candidate[1:]
    return candidate


def is_single_word(candidate: str) -> bool:
    # A multi-word replacement would shift every later word index (and the sub-token alignment).
    return bool(candidate) and not any(ch.isspace() for ch in candidate)


def normalise_table(raw: Mapping, source: str) -> tuple[dict[str, list[str]], int]:
    """Validate and normalise a raw ``{word: [candidates]}`` mapping.

    Keys are lower-cased (entries that then collide are merged in order); candidates keep their case.
    Dropped quietly, and counted: duplicates, a candidate equal to its word, empty or multi-word
    candidates. Returns the table without empty entries, and the number of candidates dropped.
    """
    if not isinstance(raw, Mapping):
        kind = type(raw).__name__ if not isinstance(raw, list) else "list"
        raise RiftUserError(
            f"synonym table {source} holds a JSON {kind}, expected an object mapping each word to a list of synonyms"
        )
    table: dict[str, list[str]] = {}
    dropped = 0
    for key, values in raw.items():
        if not isinstance(key, str):  # only possible for a mapping built in Python
            raise RiftUserError(f"synonym table {source}: key {key!r} is not a string")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RiftUserError(
                f"synonym table {source}: entry {key!r} is {_describe(values)}, expected a list of strings"
            )
        word = key.strip().lower()
        entry = table.setdefault(word, [])
        for value in values:
            value = value.strip()
            if not is_single_word(value) or value.lower() == word or value in entry:
                dropped += 1
                continue
            entry.append(value)
    table = {word: cands for word, cands in table.items() if word and cands}
    if not table:
        raise RiftUserError(
            f"synonym table {source} has no word with a synonym: an empty synonym set allows no swap at all"
        )
    return table, dropped


def _describe(value) -> str:
    if isinstance(value, list):
        bad = next(v for v in value if not isinstance(v, str))
        return f"a list holding {type(bad).__name__} {bad!r}"
    return f"a {type(value).__name__}"


class SynonymSet:
    """Lower-case word -> ordered candidates.

    ``spec`` is how to get the set again (``counterfitted``, ``wordnet`` or a file path; None for a set
    built in memory) and ``build_args`` the options to pass with it; ``settings`` records how it was
    built (part of the fingerprint).
    """

    def __init__(
        self,
        name: str,
        table: Mapping[str, list[str]],
        *,
        spec: str | None = None,
        settings: Mapping | None = None,
        source: str | None = None,
        build_args: Mapping | None = None,
    ):
        self.name = name
        self.spec = spec
        self.settings = dict(settings or {})
        # keyword arguments that give this set back from ``build_synonym_set(spec, **build_args)``
        self.build_args = dict(build_args or {})
        self.source = source or name
        self._table, self.dropped = normalise_table(table, self.source)
        self._fingerprint: str | None = None

    @classmethod
    def from_dict(cls, name: str, table: Mapping[str, Iterable[str]], **kw) -> "SynonymSet":
        return cls(name, {k: list(v) for k, v in table.items()}, **kw)

    def __len__(self) -> int:
        """Number of words with at least one candidate."""
        return len(self._table)

    def __contains__(self, word: str) -> bool:
        return word.lower() in self._table

    def __repr__(self) -> str:
        return f"SynonymSet(name={self.name!r}, words={len(self)}, fingerprint={self.fingerprint!r})"

    def words(self) -> list[str]:
        return list(self._table)

    def items(self):
        return self._table.items()

    def candidates(self, word: str) -> list[str]:
        """The candidates of ``word`` (looked up lower-cased), as the table has them."""
        return list(self._table.get(word.lower(), ()))

    def recased_candidates(self, word: str) -> list[str]:
        """The candidates of ``word`` with its capitalisation, without duplicates or ``word`` itself."""
        out: list[str] = []
        for cand in self._table.get(word.lower(), ()):
            cand = recase(word, cand)
            if cand != word and cand not in out:
                out.append(cand)
        return out

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = fingerprint_of({"table": self._table, "settings": self.settings})
        return self._fingerprint

    def to_table(self) -> dict[str, list[str]]:
        return {word: list(cands) for word, cands in self._table.items()}

    def describe(self) -> dict:
        return {
            "name": self.name,
            "spec": self.spec,
            "size": len(self),
            "fingerprint": self.fingerprint,
            "settings": dict(self.settings),
        }
