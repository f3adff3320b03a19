"""What a "word" is: TextAttack's ``words_from_text`` (what ``AttackedText.words`` uses), with the
character span of each word so that sub-tokens can be mapped to words by offsets.

Using TextAttack's splitter itself (not a copy of its regular expression) keeps the transformation, the
constraints and the candidate builder agreeing on word indices, whatever TextAttack's version does.
"""

from __future__ import annotations


def split_words(text: str) -> list[str]:
    from textattack.shared.utils import words_from_text  # heavy import, only when words are needed

    return words_from_text(text)


def word_spans(text: str, words: list[str] | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of each word of ``text``, in order.

    The splitter only drops characters around words (whitespace, punctuation, and quote/hyphen marks at
    a word's ends), and a word starts with a character that the dropped runs cannot contain, so the next
    occurrence after the previous word is the word itself. A word that cannot be found (not expected)
    gets an empty span at the cursor: it then owns no token and is never perturbed, and the spans stay
    sorted.
    """
    if words is None:
        words = split_words(text)
    spans = []
    cursor = 0
    for word in words:
        start = text.find(word, cursor)
        if start < 0:
            spans.append((cursor, cursor))
            continue
        end = start + len(word)
        spans.append((start, end))
        cursor = end
    return spans
