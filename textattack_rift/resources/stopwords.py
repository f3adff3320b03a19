"""The project's English stop-word list (function words that a synonym swap must not touch).

Written for this project: pronouns, determiners, auxiliaries, prepositions, conjunctions and common
adverbs of degree/negation, plus the contraction pieces that word tokenisers split off.

This is the threat model's choice of protected words, not NLTK's stop-word corpus: it is never written
under NLTK's name (stock TextAttack recipes read NLTK's own list, see ``resources.nltk_stopwords``).
"""

from __future__ import annotations

_GROUPS = {
    "pronouns": """i me my mine myself we us our ours ourselves you your yours yourself yourselves
        he him his himself she her hers herself it its itself they them their theirs themselves
        who whom whose which what that this these those""",
    "determiners": """a an the some any each every either neither no both all few more most other
        such own same several""",
    "auxiliaries": """am is are was were be been being have has had having do does did doing
        will would shall should can could may might must""",
    "prepositions": """about above across after against along among around at before behind below
        beneath beside between beyond by down during except for from in inside into near of off on
        onto out outside over past since through throughout till to toward towards under until up
        upon with within without""",
    "conjunctions": """and but or nor so yet because if unless while whereas although though as
        than whether once when whenever where wherever why how""",
    "adverbs": """not very too also just only again further then there here now ever even still
        already quite rather""",
    "contraction_pieces": """s t d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn
        ma mightn mustn needn shan shouldn wasn weren won wouldn n't 's 're 've 'll 'd 'm""",
}


def english_stopwords() -> list[str]:
    """Sorted, de-duplicated English stop words."""
    words = set()
    for group in _GROUPS.values():
        words.update(group.split())
    return sorted(words)
