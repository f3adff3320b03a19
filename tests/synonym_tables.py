"""A small real synonym table for tests: the offline WordNet set restricted to the words of some texts
(imported by test modules; a full set would make candidate precomputation slow)."""

from __future__ import annotations

import json
from pathlib import Path


def wordnet_table_for(texts, directory: Path) -> Path:
    """Write ``{word: WordNet synonyms}`` for every word of ``texts`` that has some; the file's path."""
    from textattack_rift.threat import ThreatModel
    from textattack_rift.threat.words import split_words

    wordnet = ThreatModel("wordnet").synonyms
    table = {}
    for text in texts:
        for word in split_words(text):
            candidates = wordnet.candidates(word.lower())
            if candidates:
                table[word.lower()] = list(candidates)
    path = Path(directory) / "table.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    return path
