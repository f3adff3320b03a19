"""``textattack-rift bench similarity``: rift-textfooler's MiniLM similarity check against the offline USE.

TextFooler keeps a swap when the Universal Sentence Encoder's ANGULAR similarity of the 15-word windows
around it, before and after, is at least 0.840845. rift-textfooler's offline default judges the same
windows with MiniLM's COSINE similarity at ``MINILM_THRESHOLD``. This bench takes the offline USE
(``attack_recipes.offline_use``, USE-multilingual v3) at 0.840845 as the reference decision and measures
how often MiniLM decides the same, on the windows rift-textfooler actually judges, from the first
``--sim-sentences`` sentences of ``rotten_tomatoes``' VALIDATION split (never test):

- ``single-<set>``: every candidate that reaches the similarity check at the first step (the threat
  model's synonyms after its constraints and the WordNet part-of-speech check, as ``candidate_constraints``
  gives them), at most ``--per-word`` per word (seeded sample), for WordNet and, when the table is found
  (``$TEXTATTACK_RIFT_COUNTERFITTED``, ``--synonyms PATH`` or the cache), the counter-fitted set;
- ``random-multi-<set>``: one seeded 2- or 3-swap combination per sentence, judged as rift-textfooler
  judges a later step (``compare_against_original=False``): the text with the earlier swaps against the
  text with one more, windows around the newly swapped word;
- ``attack-single`` / ``attack-multi`` (with ``--model DIR``, a fine-tuned classifier): every candidate
  the similarity check would judge in greedy rift-textfooler attacks (``encoder=none``, so the search
  runs on) on the first ``--attack-sentences`` of those sentences, under the model's own threat model
  (``threat_model.json``; else WordNet); ``multi`` when the current text already has swaps;
- ``antonym`` and ``random-word`` (not candidates; reported as the share each encoder accepts): WordNet
  antonyms of each unprotected word, and one seeded random vocabulary word per sentence.

Windows are built by TextAttack's own ``SentenceEncoder._score_list`` (a recording encoder stands in for
the model), so they are exactly the windows the constraint compares. Each distinct window is encoded once
by each encoder, in turns chunk by chunk (a change of machine load hits both alike), and the two
encoders' seconds are reported with their ratio.

The sentences are split in two by a seeded draw (``fit`` and ``held``); MiniLM's best threshold is the
one that agrees most often with USE on the ``fit`` candidates (on a 0.001 grid; ties: the middle of the
tied run), and agreement, false accepts (MiniLM keeps, USE drops) and false rejects (MiniLM drops, USE
keeps) are reported on the ``held`` candidates, for ``MINILM_THRESHOLD`` and the best threshold.
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict

import numpy as np
import torch
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder

from textattack_rift.attack_recipes.sentence_encoder import MINILM_THRESHOLD, USE_THRESHOLD, WINDOW

CANDIDATE_PREFIXES = ("single-", "random-multi-", "attack-")
NOT_CANDIDATES = ("antonym", "random-word")
GRID = np.round(np.arange(0.5, 1.0005, 0.001), 3)


# -- counting (no encoder involved) ---------------------------------------------------------------------
def agreement(reference: np.ndarray, scores: np.ndarray, threshold: float,
              reference_threshold: float = USE_THRESHOLD) -> dict:
    """How the decisions ``scores >= threshold`` agree with ``reference >= reference_threshold`` (the
    reference decision): counts, and ``agreement`` as a share (None when there are no pairs)."""
    reference, scores = np.asarray(reference, dtype=float), np.asarray(scores, dtype=float)
    if reference.shape != scores.shape:
        raise ValueError(f"{reference.shape} reference scores against {scores.shape} scores")
    ref_keep, keep = reference >= reference_threshold, scores >= threshold
    n = int(reference.size)
    agree = int((ref_keep == keep).sum())
    return {
        "n": n,
        "agree": agree,
        "agreement": agree / n if n else None,
        "false_accepts": int((keep & ~ref_keep).sum()),  # kept, the reference drops it
        "false_rejects": int((~keep & ref_keep).sum()),  # dropped, the reference keeps it
        "reference_accepts": int(ref_keep.sum()),
        "accepts": int(keep.sum()),
    }


def best_threshold(reference: np.ndarray, scores: np.ndarray, reference_threshold: float = USE_THRESHOLD,
                   grid=GRID) -> float:
    """The threshold on ``grid`` whose decisions agree most often with the reference; among equally good
    ones, the middle of the first tied run (a plateau's centre, not its edge)."""
    reference, scores = np.asarray(reference, dtype=float), np.asarray(scores, dtype=float)
    if reference.size == 0:
        raise ValueError("no pairs to choose a threshold on")
    grid = np.asarray(grid, dtype=float)
    ref_keep = reference >= reference_threshold
    agree = np.array([int(((scores >= t) == ref_keep).sum()) for t in grid])
    best = np.flatnonzero(agree == agree.max())
    run_end = 0
    while run_end + 1 < len(best) and best[run_end + 1] == best[run_end] + 1:
        run_end += 1
    return float(grid[best[(run_end) // 2]])


def accepted_share(scores: np.ndarray, threshold: float) -> float | None:
    scores = np.asarray(scores, dtype=float)
    return float((scores >= threshold).mean()) if scores.size else None


# -- the windows ---------------------------------------------------------------------------------------
class WindowRecorder(SentenceEncoder):
    """A TextAttack ``SentenceEncoder`` that keeps every (reference window, candidate window) pair it is
    asked to compare and accepts all (so a search runs on as with ``encoder=none``). Same window options
    as rift-textfooler's encoders."""

    def __init__(self):
        super().__init__(threshold=0.0, metric="cosine", compare_against_original=False, window_size=WINDOW,
                         skip_text_shorter_than_window=False)
        self.pairs: list[dict] = []
        self.kind, self.group = "", -1
        self.multi_kind: str | None = None  # with a search: this kind when the current text has swaps

    def encode(self, sentences):
        sentences = list(sentences)
        half = len(sentences) // 2
        kind = self.kind
        reference = self._reference
        if self.multi_kind is not None and reference is not None and reference.attack_attrs["modified_indices"]:
            kind = self.multi_kind
        for original, perturbed in zip(sentences[:half], sentences[half:]):
            self.pairs.append({"kind": kind, "group": self.group, "original": original, "perturbed": perturbed})
        return torch.ones(len(sentences), 1)

    _reference = None

    def _check_constraint_many(self, transformed_texts, reference_text):
        self._reference = reference_text
        return super()._check_constraint_many(transformed_texts, reference_text)

    def judge(self, reference, transformed: list, kind: str, group: int) -> None:
        """Record the windows of ``transformed`` (AttackedTexts with ``newly_modified_indices``) against
        ``reference`` as the constraint builds them."""
        if transformed:
            self.kind, self.group, self._reference = kind, group, None
            self._score_list(reference, list(transformed))


def filtered_candidates(text, transformation, constraints) -> list:
    """The candidates of ``text`` that reach the similarity check: TextAttack's pre-transformation
    constraints inside the transformation, then the other constraints in order (as ``Attack`` does)."""
    from textattack.constraints import PreTransformationConstraint

    pre = [c for c in constraints if isinstance(c, PreTransformationConstraint)]
    post = [c for c in constraints if not isinstance(c, PreTransformationConstraint)]
    candidates = transformation(text, pre)
    for constraint in post:
        if not candidates:
            break
        candidates = constraint.call_many(candidates, text)
    return list(candidates)


def _antonyms(word: str) -> list[str]:
    from nltk.corpus import wordnet

    found = {a.name() for s in wordnet.synsets(word.lower()) for lemma in s.lemmas() for a in lemma.antonyms()}
    return sorted(a for a in found if "_" not in a and a != word.lower())


def collect_synonym_windows(recorder: WindowRecorder, sentences: list[str], label: str, threat_model,
                            per_word: int, rng: random.Random, antonyms: bool = False,
                            vocabulary: list[str] | None = None) -> None:
    """``single-<label>`` and ``random-multi-<label>`` pairs (plus ``antonym`` / ``random-word`` when asked)."""
    from textattack.shared import AttackedText

    from textattack_rift.attack_recipes.textfooler import candidate_constraints

    transformation, constraints = threat_model.transformation(), candidate_constraints(threat_model)
    for group, sentence in enumerate(sentences):
        text = AttackedText(sentence)
        by_index: dict[int, list] = defaultdict(list)
        for candidate in filtered_candidates(text, transformation, constraints):
            by_index[next(iter(candidate.attack_attrs["newly_modified_indices"]))].append(candidate)
        chosen = []
        for index in sorted(by_index):
            options = by_index[index]
            chosen.extend(rng.sample(options, per_word) if len(options) > per_word else options)
        recorder.judge(text, chosen, f"single-{label}", group)
        if len(by_index) >= 2:  # a 2- or 3-swap text: earlier swaps in the reference, one more judged
            indices = rng.sample(sorted(by_index), min(rng.choice((2, 3)), len(by_index)))
            reference = text
            for index in indices[:-1]:
                reference = reference.replace_word_at_index(index, rng.choice(by_index[index]).words[index])
            last = indices[-1]
            perturbed = reference.replace_word_at_index(last, rng.choice(by_index[last]).words[last])
            recorder.judge(reference, [perturbed], f"random-multi-{label}", group)
        if antonyms:
            unprotected = [i for i, w in enumerate(text.words) if not threat_model.is_protected(w)]
            swaps = [text.replace_word_at_index(i, a) for i in unprotected for a in _antonyms(text.words[i])[:2]]
            recorder.judge(text, swaps, "antonym", group)
            if unprotected and vocabulary:
                i = rng.choice(unprotected)
                recorder.judge(text, [text.replace_word_at_index(i, rng.choice(vocabulary))], "random-word", group)


def collect_attack_windows(recorder: WindowRecorder, model_dir: str, sentences: list[str], labels: list[int],
                           seed: int) -> dict:
    """``attack-single`` / ``attack-multi`` pairs: greedy rift-textfooler (``encoder=none``) with the
    recorder as its last constraint, where the similarity check would be."""
    from textattack import Attack

    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.models.loading import load_model
    from textattack_rift.threat import ThreatModel

    wrapper = load_model(model_dir)
    try:
        threat_model = ThreatModel.load(model_dir)
    except Exception:  # noqa: BLE001  (a model without threat_model.json: the default set)
        threat_model = ThreatModel("wordnet")
    built = build_attack("rift-textfooler", wrapper, threat_model, encoder="none")
    attack = Attack(built.goal_function, [*built.pre_transformation_constraints, *built.constraints, recorder],
                    built.transformation, built.search_method)
    outcomes: dict[str, int] = defaultdict(int)
    recorder.kind, recorder.multi_kind = "attack-single", "attack-multi"
    began = time.perf_counter()
    for group, (sentence, label) in enumerate(zip(sentences, labels)):
        random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
        recorder.group = group
        result = attack.attack(sentence, int(label))
        outcomes[type(result).__name__.replace("AttackResult", "").lower()] += 1
    recorder.multi_kind = None
    return {"threat_model": threat_model.synonym_label, "results": dict(outcomes),
            "seconds": time.perf_counter() - began}


# -- scoring ---------------------------------------------------------------------------------------
def score_pairs(pairs: list[dict], chunk: int = 256) -> dict:
    """USE angular and MiniLM cosine similarity of every pair, each distinct window encoded once per
    encoder, the encoders taking turns chunk by chunk (alternating which goes first)."""
    from textattack.constraints.semantics.sentence_encoders.sentence_encoder import get_angular_sim

    from textattack_rift.attack_recipes.offline_use import _encoder as offline_use
    from textattack_rift.attack_recipes.sentence_encoder import _load_minilm, mean_pooled

    windows = list(dict.fromkeys(w for p in pairs for w in (p["original"], p["perturbed"])))
    use, (minilm, tokenizer) = offline_use(), _load_minilm("minilm")
    use.encode(windows[:8]), mean_pooled(minilm, tokenizer, windows[:8])  # one-off start-up out of the timings
    encoders = {
        "use": lambda ws: torch.from_numpy(np.asarray(use.encode(ws))).float(),
        "minilm": lambda ws: mean_pooled(minilm, tokenizer, ws, batch_size=64),
    }
    parts: dict[str, list] = {"use": [], "minilm": []}
    seconds = {"use": 0.0, "minilm": 0.0}
    for turn, start in enumerate(range(0, len(windows), chunk)):
        order = ("use", "minilm") if turn % 2 == 0 else ("minilm", "use")
        for name in order:
            began = time.perf_counter()
            parts[name].append(encoders[name](windows[start : start + chunk]))
            seconds[name] += time.perf_counter() - began
    row = {w: i for i, w in enumerate(windows)}
    a = [row[p["original"]] for p in pairs]
    b = [row[p["perturbed"]] for p in pairs]
    use_emb, minilm_emb = torch.cat(parts["use"]), torch.cat(parts["minilm"])
    return {
        "use": get_angular_sim(use_emb[a], use_emb[b]).numpy(),
        "minilm": torch.nn.functional.cosine_similarity(minilm_emb[a], minilm_emb[b]).numpy(),
        "windows": len(windows),
        "seconds": seconds,
    }


# -- the run --------------------------------------------------------------------------------------------
def _synonym_sets(spec: str) -> list[tuple[str, str]]:
    """``[(label, threat-model spec)]``: ``auto`` is WordNet plus the counter-fitted table when found."""
    from textattack_rift.threat.synonyms import counterfitted

    if spec.strip().lower() != "auto":
        return [(s.strip(), s.strip()) for s in spec.split(",") if s.strip()]
    sets = [("wordnet", "wordnet")]
    path, how = counterfitted.locate()
    if path is not None and path.is_file():
        sets.append(("counterfitted", str(path)))
    else:
        print(f"bench similarity: no counter-fitted table found ({how}): WordNet only "
              f"(set ${counterfitted.PATH_ENV} to the table to add it)", file=sys.stderr)
    return sets


def bench_similarity(num_sentences: int = 150, per_word: int = 2, synonyms: str = "auto", model: str | None = None,
                     attack_sentences: int = 25, seed: int = 0) -> dict:
    from textattack_rift.data import load_dataset
    from textattack_rift.threat import ThreatModel

    began = time.perf_counter()
    data = load_dataset("rotten_tomatoes", split=f"validation[:{num_sentences}]")
    sentences, labels = list(data["text"]), [int(y) for y in data["label"]]
    rng = random.Random(seed)
    recorder = WindowRecorder()
    sets = _synonym_sets(synonyms)
    for number, (label, spec) in enumerate(sets):
        threat_model = ThreatModel(spec)
        vocabulary = None
        if number == 0:
            vocabulary = sorted(w for w in threat_model.synonyms.words() if w.isalpha() and len(w) > 3)
        collect_synonym_windows(recorder, sentences, label, threat_model, per_word, rng, antonyms=number == 0,
                                vocabulary=vocabulary)
    attack_info = None
    if model:
        attack_info = collect_attack_windows(recorder, model, sentences[:attack_sentences],
                                             labels[:attack_sentences], seed)
    pairs = recorder.pairs
    scores = score_pairs(pairs)
    groups = list(range(len(sentences)))
    random.Random(seed + 1).shuffle(groups)
    fit_groups = set(groups[: len(groups) // 2])
    kinds = np.array([p["kind"] for p in pairs])
    is_candidate = np.array([k.startswith(CANDIDATE_PREFIXES) for k in kinds], dtype=bool)
    fit = np.array([p["group"] in fit_groups for p in pairs], dtype=bool)
    use, minilm = scores["use"], scores["minilm"]
    chosen = best_threshold(use[is_candidate & fit], minilm[is_candidate & fit])
    held = is_candidate & ~fit
    rows = {}
    for name, mask in [("all candidates (held)", held), ("all candidates (fit)", is_candidate & fit)] + [
        (f"{kind} (held)", held & (kinds == kind)) for kind in sorted(set(kinds[is_candidate]))
    ]:
        rows[name] = {
            "current": agreement(use[mask], minilm[mask], MINILM_THRESHOLD),
            "best": agreement(use[mask], minilm[mask], chosen),
        }
    shares = {
        kind: {
            "n": int((kinds == kind).sum()),
            "use": accepted_share(use[kinds == kind], USE_THRESHOLD),
            "minilm_current": accepted_share(minilm[kinds == kind], MINILM_THRESHOLD),
            "minilm_best": accepted_share(minilm[kinds == kind], chosen),
        }
        for kind in sorted(set(kinds))
    }
    return {
        "sentences": len(sentences), "split": "rotten_tomatoes validation", "per_word": per_word,
        "synonym_sets": [label for label, _ in sets], "attack": attack_info, "pairs": len(pairs),
        "windows": scores["windows"], "encoder_seconds": scores["seconds"],
        "use_threshold": USE_THRESHOLD, "minilm_current": MINILM_THRESHOLD, "minilm_best": chosen,
        "agreement": rows, "accepted": shares, "seconds": time.perf_counter() - began, "seed": seed,
    }


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def format_similarity(result: dict) -> str:
    cur, best = result["minilm_current"], result["minilm_best"]
    lines = [
        "rift-textfooler similarity check: MiniLM cosine against the offline USE at angular "
        f"{result['use_threshold']:.6f} "
        f"(reference), {result['sentences']} {result['split']} sentences, {result['pairs']} window pairs "
        f"({result['windows']} distinct windows); MiniLM's best threshold {best:.3f} chosen on the fit half",
        "",
        f"| pairs | n | USE keeps | agreement @{cur:.2f} | false acc. @{cur:.2f} | false rej. @{cur:.2f} "
        f"| agreement @{best:.3f} | false acc. @{best:.3f} | false rej. @{best:.3f} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["agreement"].items():
        c, b = row["current"], row["best"]
        if not c["n"]:
            continue
        lines.append(
            f"| {name} | {c['n']} | {c['reference_accepts']} ({_pct(c['reference_accepts'] / c['n'])}) "
            f"| {_pct(c['agreement'])} | {c['false_accepts']} | {c['false_rejects']} "
            f"| {_pct(b['agreement'])} | {b['false_accepts']} | {b['false_rejects']} |"
        )
    lines += ["", f"| swaps | n | USE keeps @{result['use_threshold']:.3f} | MiniLM keeps @{cur:.2f} "
                  f"| MiniLM keeps @{best:.3f} |", "|---|---:|---:|---:|---:|"]
    for kind, share in result["accepted"].items():
        lines.append(f"| {kind} | {share['n']} | {_pct(share['use'])} | {_pct(share['minilm_current'])} "
                     f"| {_pct(share['minilm_best'])} |")
    s = result["encoder_seconds"]
    ratio = s["minilm"] / s["use"] if s["use"] else float("nan")
    lines += ["", f"encoding the {result['windows']} windows: offline USE {s['use']:.1f} s, MiniLM {s['minilm']:.1f} s "
                  f"(MiniLM / USE {ratio:.2f}; same windows, taking turns, torch threads {torch.get_num_threads()})"]
    if result["attack"]:
        a = result["attack"]
        lines.append(f"greedy attacks (encoder=none, threat model {a['threat_model']}): {a['results']} "
                     f"in {a['seconds']:.0f} s")
    lines.append(f"wall time {result['seconds']:.0f} s")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    """The ``bench similarity`` flags (``--model``, ``--seed``, ``--json``, ``--threads`` are shared)."""
    group = parser.add_argument_group("similarity (MiniLM's check against the offline USE; validation split)")
    group.add_argument("--sim-sentences", type=int, default=150,
                       help="similarity: rotten_tomatoes validation sentences")
    group.add_argument("--per-word", type=int, default=2, help="similarity: single-swap candidates sampled per word")
    group.add_argument("--attack-sentences", type=int, default=25,
                       help="similarity: sentences attacked greedily (with --model DIR) for the multi-swap windows")
    group.add_argument("--sim-synonyms", default="auto",
                       help="similarity: synonym sets, comma-separated (auto: wordnet, plus counterfitted when found)")


def run_from_args(args) -> int:
    import json
    import os

    from textattack_rift.errors import RiftUserError
    from textattack_rift.resources.atomic import write_text

    for name in ("sim_sentences", "per_word", "attack_sentences"):
        if getattr(args, name) < 1:
            raise RiftUserError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    model = getattr(args, "model", None)
    if model in (None, "", "minilm"):
        model = None  # no fine-tuned classifier: no greedy attacks (the random multi-swap texts remain)
    elif not os.path.isfile(os.path.join(model, "config.json")):
        raise RiftUserError(
            f"--model {model}: not a classifier directory (no config.json); omit it to skip the attacks"
        )
    threads = getattr(args, "threads", None)
    if threads:
        torch.set_num_threads(threads)
    result = bench_similarity(num_sentences=args.sim_sentences, per_word=args.per_word, synonyms=args.sim_synonyms,
                              model=model, attack_sentences=args.attack_sentences, seed=getattr(args, "seed", 0) or 0)
    print(format_similarity(result))
    if getattr(args, "json", None):
        write_text(args.json, json.dumps(result, indent=2, default=float))
    return 0
