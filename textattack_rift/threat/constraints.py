"""The threat model's constraints, as TextAttack constraints (TextAttack's own where one fits).

- one swap per word: TextAttack's ``RepeatModification``;
- at most a ratio of the words: TextAttack's ``MaxModificationRate``;
- no stop words: TextAttack's ``StopwordModification`` compares words as they are written, so "The"
  would be swappable; ours lower-cases first and uses the project's stop-word list;
- perturbable columns: TextAttack's ``InputColumnModification`` only acts when the column names match
  exactly and otherwise allows every word, so a pair dataset with other column names would silently
  let the premise change; ours applies the threat model's column rule to any names;
- part of speech: TextAttack's ``PartOfSpeech`` needs a tagger that is downloaded; ours uses WordNet.
"""

from __future__ import annotations

from typing import Iterable

from textattack.constraints import Constraint, PreTransformationConstraint
from textattack.constraints.pre_transformation import StopwordModification
from textattack.shared.validators import transformation_consists_of_word_swaps

from textattack_rift.resources.stopwords import english_stopwords
from textattack_rift.threat.columns import perturbable_column_indices
from textattack_rift.threat.pos import pos_compatible


class CaseInsensitiveStopwordModification(StopwordModification):
    """No swap of a stop word, whatever its capitalisation."""

    def __init__(self, stopwords: Iterable[str] | None = None):
        words = english_stopwords() if stopwords is None else stopwords
        super().__init__(stopwords={w.lower() for w in words})

    def _get_modifiable_indices(self, current_text):
        return {i for i, word in enumerate(current_text.words) if word.lower() not in self.stopwords}


class PerturbableColumnsModification(PreTransformationConstraint):
    """Only the words of the perturbable columns may change (default: all of a single text, the
    hypothesis of a pair)."""

    def __init__(self, columns=None):
        self.columns = columns

    def _get_modifiable_indices(self, current_text):
        allowed = perturbable_column_indices(self.columns, current_text.column_labels)
        indices: set[int] = set()
        start = 0
        for column, words in enumerate(current_text.words_per_input):
            if column in allowed:
                indices.update(range(start, start + len(words)))
            start += len(words)
        return indices

    def extra_repr_keys(self):
        return ["columns"]


class WordNetPartOfSpeech(Constraint):
    """Each swapped word shares a WordNet part of speech with the word it replaces (see ``threat.pos``)."""

    def __init__(self, compare_against_original: bool = True):
        super().__init__(compare_against_original)

    def _check_constraint(self, transformed_text, reference_text):
        new, old = transformed_text.words, reference_text.words
        if len(new) == len(old):
            changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
        else:  # not a pure word swap: judge only what the last step changed
            changed = [i for i in transformed_text.attack_attrs.get("newly_modified_indices", ()) if i < len(old)]
        return all(pos_compatible(old[i], new[i]) for i in changed if i < len(new))

    def check_compatibility(self, transformation):
        return transformation_consists_of_word_swaps(transformation)
