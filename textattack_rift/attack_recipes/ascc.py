"""rift-ascc: RIFT's embedding-space adversary as a white-box TextAttack attack (the "ASCC attack").

For each example, the ASCC adversary (``training.adversary``) optimises per-word convex combinations of
the word's and its candidates' input embeddings to maximise the cross-entropy to the true label (Adam,
10 steps, rate 1, entropy weight 15, as in training), then takes the most weighted candidate of every
word. That one discrete text is proposed to the goal function: one model query per example after the
clean one, so it runs on a whole split. It is a ``SearchMethod``, usable through ``Attacker`` like any
recipe; the swaps come from the threat model (``CandidateBuilder``), restricted to the words TextAttack's
pre-transformation constraints allow, and capped at the threat model's ``max_word_ratio`` (keeping the
most confident swaps).

The attack's other constraints (the threat model's part-of-speech check, or any a user adds, such as a
sentence-encoder similarity that judges the combined text) are checked on the proposal. When the whole
proposal fails them, only the failing swaps are dropped, greedily and deterministically: the swaps are
taken from the most confident down (ties: the earlier word first) and each is kept if the text with it
and the swaps kept so far passes every constraint, until the ratio cap is reached (a dropped swap frees
its place for the next one). A constraint that judges the whole text therefore sees each growing text,
and an early swap is never undone for a later one. The proposal that passes is still the one text sent
to the goal function: the checks cost no model queries (a sentence encoder's own passes aside).
"""

from __future__ import annotations

import time

import torch
from textattack import Attack
from textattack.search_methods import SearchMethod
from textattack.shared.validators import transformation_consists_of_word_swaps

from textattack_rift.attack_recipes.base import RiftRecipe, non_negative_float, positive_float, positive_int


class AsccSearch(SearchMethod):
    """Propose the ASCC argmax text once, then check the goal.

    Args:
        threat_model: the threat model giving candidates.
        max_candidates: synonyms per word in the convex hull (slot 0, the word itself, comes on top).
        steps, lr, entropy_weight: the adversary's Adam steps, learning rate and alpha.
        seed: seeds the adversary's random start for every example (results do not depend on order).
    """

    def __init__(self, threat_model, max_candidates=8, steps=10, lr=1.0, entropy_weight=15.0, seed=0):
        self.threat_model = threat_model
        self.max_candidates = max_candidates
        self.steps = steps
        self.lr = lr
        self.entropy_weight = entropy_weight
        self.seed = seed
        self.transformation = None  # set by the recipe: marks proposals for TextAttack's constraints
        self.adversary_seconds = 0.0  # time in the adversary's forward/backward passes (benchmarks)
        self._builders: dict = {}

    @property
    def is_black_box(self):
        return False

    def check_transformation_compatibility(self, transformation):
        return transformation_consists_of_word_swaps(transformation)

    def _builder(self, tokenizer, model, column_names):
        from textattack_rift.models.wrapper import max_positions
        from textattack_rift.threat.candidates import CandidateBuilder

        key = (id(tokenizer), tuple(column_names))
        if key not in self._builders:
            self._builders[key] = CandidateBuilder(
                self.threat_model,
                tokenizer,
                max_candidates=self.max_candidates + 1,
                max_length=max_positions(model, tokenizer),
                column_names=column_names,
            )
        return self._builders[key]

    @staticmethod
    def _match(tokenizer, word: str, candidates: list[str], ids: tuple) -> str | None:
        """The candidate whose tokens are ``ids`` (tokenised alone, or after a space for byte-level BPE)."""
        if not candidates:
            return None
        forms = candidates + [" " + c for c in candidates]
        encoded = tokenizer(forms, add_special_tokens=False)["input_ids"]
        for form, form_ids in zip(forms, encoded):
            if tuple(form_ids) == ids:
                return form.strip()
        return None

    def perform_search(self, initial_result):
        from textattack_rift.training.adversary import ascc_adversary

        text = initial_result.attacked_text
        wrapper = self.goal_function.model
        model, tokenizer = wrapper.model, wrapper.tokenizer
        _, allowed = self.get_indices_to_order(text)
        allowed = set(allowed)
        if not allowed:
            return initial_result
        builder = self._builder(tokenizer, model, text.column_labels)
        row = text.tokenizer_input
        tensors = builder([row if isinstance(row, tuple) else (row,)])
        device = next(model.parameters()).device
        tensors = tensors.to(device)
        if not bool(tensors.candidate_mask[..., 1:].any()):
            return initial_result
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        labels = torch.tensor([int(initial_result.ground_truth_output)], device=device)
        began = time.perf_counter()
        found = ascc_adversary(
            model,
            tensors.input_ids,
            tensors.attention_mask,
            tensors.candidate_ids,
            tensors.candidate_mask,
            tensors.word_index,
            token_type_ids=tensors.token_type_ids,
            labels=labels,
            objective="ce",
            steps=self.steps,
            lr=self.lr,
            entropy_weight=self.entropy_weight,
            generator=generator,
        )
        self.adversary_seconds += time.perf_counter() - began
        weights = found.weights[0].masked_fill(~found.word_mask[0], -1.0)  # [W,K]
        confidence, choices = weights.max(-1)
        word_index = tensors.word_index[0]
        words = text.words
        swaps: dict[int, tuple[float, str]] = {}
        for g in torch.nonzero(choices > 0).flatten().tolist():
            if g not in allowed or g >= len(words):
                continue
            positions = torch.nonzero(word_index == g).flatten()
            ids = tuple(tensors.candidate_ids[0, positions, int(choices[g])].tolist())
            candidate = self._match(tokenizer, words[g], self.threat_model.swap_candidates(words[g]), ids)
            if candidate is not None and candidate != words[g]:
                swaps[g] = (float(confidence[g]), candidate)
        proposal = self._passing_proposal(text, swaps)
        if proposal is None:
            return initial_result
        results, _ = self.get_goal_results([proposal])
        return results[0] if results else initial_result

    def _apply(self, text, swaps: dict, kept):
        indices = sorted(kept)
        proposal = text.replace_words_at_indices(indices, [swaps[i][1] for i in indices])
        if self.transformation is not None:
            proposal.attack_attrs["last_transformation"] = self.transformation
        return proposal

    def _passes(self, proposal, text) -> bool:
        return self.transformation is None or bool(self.filter_transformations([proposal], text, original_text=text))

    def _passing_proposal(self, text, swaps: dict):
        """The text with the most confident swaps, under the ratio cap, that passes the constraints
        (None when no swap does): the whole capped proposal if it passes, else the greedy build of the
        module docstring."""
        if not swaps:
            return None
        order = sorted(swaps, key=lambda g: (-swaps[g][0], g))
        ratio = self.threat_model.max_word_ratio
        limit = len(order) if ratio is None else max(int(ratio * len(text.words)), 1)
        whole = self._apply(text, swaps, order[:limit])
        if self._passes(whole, text):
            return whole
        kept: list[int] = []
        proposal = None
        for g in order:
            if len(kept) == limit:
                break
            trial = self._apply(text, swaps, kept + [g])
            if self._passes(trial, text):
                kept.append(g)
                proposal = trial
        return proposal

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_builders"] = {}
        return state

    def extra_repr_keys(self):
        return ["max_candidates", "steps", "lr", "entropy_weight"]


class RiftASCC(RiftRecipe):
    """White-box ASCC attack (CE objective, argmax per word) under the threat model."""

    name = "rift-ascc"
    OPTIONS = {
        "max_candidates": (8, positive_int("max_candidates")),
        "steps": (10, positive_int("steps")),
        "lr": (1.0, positive_float("lr")),
        "entropy_weight": (15.0, non_negative_float("entropy_weight")),
        "seed": (0, lambda v: int(v)),
    }

    @classmethod
    def compose(cls, model_wrapper, threat_model, options):
        transformation = threat_model.transformation()
        search = AsccSearch(
            threat_model,
            max_candidates=options["max_candidates"],
            steps=options["steps"],
            lr=options["lr"],
            entropy_weight=options["entropy_weight"],
            seed=options["seed"],
        )
        search.transformation = transformation
        attack = Attack(cls.goal_function(model_wrapper), threat_model.constraints(), transformation, search)
        return attack, {}
