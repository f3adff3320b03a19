"""An offline part-of-speech compatibility test from WordNet (no tagger model to download).

A word's parts of speech are those of its WordNet synsets, reached through WordNet's morphology
(so "movies" is a noun and "ran" a verb). A swap is compatible when the two words share one. A word
WordNet does not know (names, function words, slang) cannot be judged and passes: the check removes
clear mismatches ("film" -> "beautiful"), it is not a tagger.
"""

from __future__ import annotations

import functools

_GROUP = {"n": "n", "v": "v", "a": "a", "s": "a", "r": "r"}


@functools.lru_cache(maxsize=1 << 16)
def wordnet_pos(word: str) -> frozenset[str]:
    from textattack_rift.threat.synonyms.wordnet import wordnet_reader

    wordnet = wordnet_reader()
    return frozenset(_GROUP[s.pos()] for s in wordnet.synsets(word.lower()))


def pos_compatible(original: str, replacement: str) -> bool:
    first, second = wordnet_pos(original), wordnet_pos(replacement)
    if not first or not second:
        return True
    return bool(first & second)
