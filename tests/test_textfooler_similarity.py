"""rift-textfooler's similarity check: the offline USE as an encoder choice (TextFooler's angular
0.840845 over 15-word windows, recorded), one-line errors for a bad encoder, and the counting behind
``textattack-rift bench similarity`` (MiniLM's decisions against USE's) on hand-made score pairs."""

from __future__ import annotations

import os
import subprocess
from argparse import ArgumentParser

import numpy as np
import pytest

from textattack_rift.errors import RiftUserError

TEXTFOOLER_USE_ANGULAR = 0.840845057  # TextAttack's TextFooler: UniversalSentenceEncoder(threshold=0.840845057)


@pytest.fixture(scope="module")
def wrapper(tiny_bert_dir):
    from textattack_rift.models.loading import load_model

    return load_model(str(tiny_bert_dir))


def _similarity(attack):
    from textattack.constraints.semantics.sentence_encoders import SentenceEncoder

    found = [c for c in attack.constraints if isinstance(c, SentenceEncoder)]
    assert len(found) == 1, attack.constraints
    return found[0]


# -- the encoder choice -------------------------------------------------------------------------------
def test_use_offline_is_textfoolers_angular_check_over_15_word_windows_and_recorded(wrapper):
    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.attack_recipes.offline_use import OfflineUniversalSentenceEncoder
    from textattack_rift.evaluation.settings import attack_settings

    attack = build_attack("rift-textfooler", wrapper, "wordnet", encoder="use-offline")
    constraint = _similarity(attack)
    assert isinstance(constraint, OfflineUniversalSentenceEncoder)
    assert constraint.metric == "angular" and constraint.threshold == pytest.approx(TEXTFOOLER_USE_ANGULAR, abs=1e-9)
    assert constraint.window_size == 15 and constraint.compare_against_original is False
    assert attack.rift_options["sentence_encoder"] == "use-offline"
    assert attack.rift_options["similarity"] == pytest.approx(TEXTFOOLER_USE_ANGULAR, abs=1e-9)
    described = [c for c in attack_settings("rift-textfooler", attack)["constraints"]
                 if c["class"].endswith("OfflineUniversalSentenceEncoder")]
    assert len(described) == 1 and described[0]["metric"] == "angular" and described[0]["window_size"] == 15

    # an explicit threshold replaces TextFooler's, same metric and window; spelled in capitals too
    other = build_attack("rift-textfooler", wrapper, "wordnet", encoder=" USE-Offline ", similarity=0.9)
    assert _similarity(other).threshold == 0.9 and _similarity(other).metric == "angular"
    assert other.rift_options["sentence_encoder"] == "use-offline" and other.rift_options["similarity"] == 0.9


def test_use_offline_constraint_judges_a_real_swap(wrapper):
    """The built check runs the real offline USE on TextAttack's windows: a synonym swap passes, a
    wrecked window does not."""
    from textattack.shared import AttackedText

    from textattack_rift.attack_recipes import build_attack

    constraint = _similarity(build_attack("rift-textfooler", wrapper, "wordnet", encoder="use-offline"))
    original = AttackedText("a charming and funny film with a wonderful cast and a clever story")
    synonym = original.replace_word_at_index(1, "delightful")
    wrecked = original.replace_word_at_index(1, "xylophone")
    kept = constraint._check_constraint_many([synonym, wrecked], original)
    assert [t.text for t in kept] == [synonym.text]
    assert synonym.attack_attrs["similarity_score"] >= TEXTFOOLER_USE_ANGULAR > wrecked.attack_attrs["similarity_score"]


def test_default_encoder_auto_is_the_offline_use_when_tfhub_is_unreachable(offline):
    from textattack_rift.attack_recipes import RECIPES
    from textattack_rift.attack_recipes.sentence_encoder import MINILM_THRESHOLD, similarity_constraint

    assert RECIPES["rift-textfooler"].resolve_options({})["encoder"] == "auto"
    constraint, encoder = similarity_constraint("auto")
    assert encoder == "use-offline" and type(constraint).__name__ == "OfflineUniversalSentenceEncoder"
    assert constraint.threshold == TEXTFOOLER_USE_ANGULAR and constraint.metric == "angular"
    # MiniLM, when asked for, uses the cosine that agreed best with the offline USE (bench similarity)
    assert similarity_constraint("minilm")[0].threshold == MINILM_THRESHOLD == 0.794


def test_bad_encoder_is_one_line_listing_the_encoders_before_anything_loads():
    from textattack_rift.attack_recipes import RECIPES

    with pytest.raises(RiftUserError) as caught:
        RECIPES["rift-textfooler"].check_resources({"encoder": "use_offline"})  # no model, no data
    message = str(caught.value)
    assert "\n" not in message and "'use_offline'" in message
    for name in ("auto", "minilm", "use", "use-offline", "none"):
        assert name in message


def test_textattack_attack_with_a_bad_encoder_is_one_line(tiny_bert_dir, textattack_exe):
    result = subprocess.run(
        [textattack_exe, "attack", "--recipe", "rift-textfooler", "--model", str(tiny_bert_dir),
         "--sentence-encoder", "use3", "--dataset-from-huggingface", "rotten_tomatoes", "--num-examples", "1"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("textattack: error:") and "'use3'" in last and "use-offline" in last
    assert "Traceback" not in result.stderr
    assert "Loaded dataset" not in result.stderr  # refused before the data (and the model) load


# -- the bench's counting ------------------------------------------------------------------------------
# hand-made (USE angular, MiniLM cosine) pairs; USE keeps at 0.840845
USE = np.array([0.95, 0.90, 0.85, 0.84, 0.80, 0.70, 0.99, 0.83])
MINI = np.array([0.97, 0.85, 0.90, 0.95, 0.86, 0.60, 0.88, 0.70])
# USE keeps:      Y     Y     Y     N     N     N     Y     N
# MiniLM @0.86:   Y     N     Y     Y     Y     N     Y     N
# -> agree 5; false accepts 2 (#3, #4); false rejects 1 (#1)


def test_agreement_counts_false_accepts_and_rejects_against_use():
    from textattack_rift.bench.similarity import agreement

    row = agreement(USE, MINI, 0.86)
    assert row == {"n": 8, "agree": 5, "agreement": 5 / 8, "false_accepts": 2, "false_rejects": 1,
                   "reference_accepts": 4, "accepts": 5}
    # at 0.845 #1 (0.85) is kept too: 6 agree; the reference threshold is USE's 0.840845 (0.84 is a reject)
    assert agreement(USE, MINI, 0.845)["agree"] == 6 and agreement(USE, MINI, 0.845)["false_rejects"] == 0
    assert agreement(USE, MINI, 0.86, reference_threshold=0.84)["reference_accepts"] == 5
    assert agreement([], [], 0.5)["agreement"] is None
    with pytest.raises(ValueError):
        agreement(USE, MINI[:3], 0.86)


def test_best_threshold_is_the_middle_of_the_best_plateau():
    from textattack_rift.bench.similarity import agreement, best_threshold

    use = np.array([0.95, 0.90, 0.88, 0.80, 0.75, 0.70])  # USE keeps the first three
    mini = np.array([0.95, 0.91, 0.90, 0.86, 0.85, 0.99])  # #5 is a false accept below 0.99 whatever
    # 5 of 6 agree exactly for thresholds in (0.86, 0.90]; 4 just below or above
    chosen = best_threshold(use, mini, grid=np.round(np.arange(0.80, 0.9501, 0.01), 2))
    assert chosen == 0.88  # the middle of 0.87, 0.88, 0.89, 0.90
    assert agreement(use, mini, chosen)["agree"] == 5
    assert agreement(use, mini, 0.86)["agree"] == 4 and agreement(use, mini, 0.91)["agree"] == 4
    assert best_threshold(use, mini) == pytest.approx(0.880, abs=1e-9)  # 0.001 grid: 0.861 .. 0.900
    # two equally good runs, (0.70, 0.85] and (0.86, 0.88], 6 of 8 each: the first run's middle
    assert best_threshold(USE, MINI, grid=np.round(np.arange(0.80, 0.9001, 0.01), 2)) == 0.82
    with pytest.raises(ValueError):
        best_threshold([], [])


def test_accepted_share():
    from textattack_rift.bench.similarity import accepted_share

    assert accepted_share(MINI, 0.86) == 5 / 8 and accepted_share([], 0.5) is None


# -- the bench's windows are TextAttack's ----------------------------------------------------------------
def test_recorder_keeps_the_windows_textattack_compares():
    from textattack.shared import AttackedText

    from textattack_rift.bench.similarity import WindowRecorder

    words = [f"w{i}" for i in range(30)]
    original = AttackedText(" ".join(words))
    once = original.replace_word_at_index(3, "first")
    twice = once.replace_word_at_index(20, "second")
    recorder = WindowRecorder()
    recorder.judge(original, [once], "single", 0)
    recorder.kind, recorder.multi_kind, recorder.group = "attack-single", "attack-multi", 1
    assert list(recorder._check_constraint_many([twice], once)) == [twice]  # accepts all: the search runs on
    single, multi = recorder.pairs
    assert single == {"kind": "single", "group": 0, "original": original.text_window_around_index(3, 15),
                      "perturbed": once.text_window_around_index(3, 15)}
    # a later step: the current text (one swap) against it with one more, around the new swap
    assert multi["kind"] == "attack-multi" and multi["group"] == 1
    assert multi["original"] == " ".join(words[13:20] + ["w20"] + words[21:28])
    assert multi["perturbed"] == " ".join(words[13:20] + ["second"] + words[21:28])


def test_bench_similarity_is_a_bench_subcommand():
    from textattack_rift.integration.commands import BenchCommand

    parser = ArgumentParser()
    BenchCommand.register_subcommand(parser.add_subparsers())
    args = parser.parse_args(["bench", "similarity", "--sim-sentences", "5", "--attack-sentences", "2"])
    assert args.what == "similarity" and args.sim_sentences == 5 and args.attack_sentences == 2
    args.sim_sentences = 0
    with pytest.raises(RiftUserError, match="--sim-sentences must be a positive integer"):
        args.func.run(args)
