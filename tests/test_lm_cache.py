"""rift-genetic's persistent LM window-score cache: a hit decides exactly as a fresh score, a corrupt
entry is recomputed and never trusted, concurrent writers never corrupt it, and a directory that cannot
be written is one line (an error when the user chose it, a fallback to no cache by default)."""

from __future__ import annotations

import json
import logging
import multiprocessing
from pathlib import Path

import pytest

from textattack_rift.attack_recipes import lm_cache
from textattack_rift.errors import RiftUserError

SENTENCE = "A charming and funny film with a wonderful cast and a clever story."
SYNONYMS = {
    "charming": ["delightful", "enchanting", "lovely"],
    "funny": ["amusing", "comic", "humorous"],
    "wonderful": ["marvelous", "terrific", "grand"],
    "clever": ["smart", "bright", "ingenious"],
    "story": ["tale", "narrative", "account"],
    "film": ["movie", "picture"],
}


@pytest.fixture(scope="module")
def threat_model(tmp_path_factory):
    from textattack_rift.threat import ThreatModel

    path = tmp_path_factory.mktemp("synonyms") / "table.json"
    path.write_text(json.dumps(SYNONYMS), encoding="utf-8")
    return ThreatModel(str(path))


def _swaps(threat_model):
    """Every single-word swap of SENTENCE the threat model allows, marked as TextAttack marks them."""
    from textattack.shared import AttackedText

    original = AttackedText(SENTENCE)
    swaps = []
    for index, word in enumerate(original.words):
        for candidate in threat_model.swap_candidates(word):
            swapped = original.replace_word_at_index(index, candidate)
            swapped.attack_attrs["newly_modified_indices"] = {index}
            swaps.append(swapped)
    assert len(swaps) >= 10
    return original, swaps


def _decide(tiny_lm_dir, threat_model, cache, drop=2.0):
    """(the filter, the kept swaps' texts, its table) from a fresh filter (a new process's view)."""
    from textattack_rift.attack_recipes.language_model import WindowLanguageModelFilter

    lm = WindowLanguageModelFilter(str(tiny_lm_dir), threat_model=threat_model, max_log_prob_diff=drop, cache=cache)
    original, swaps = _swaps(threat_model)
    kept = [t.text for t in lm._check_constraint_many(swaps, original)]
    return lm, kept, dict(lm.table(original))


def _blobs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if p.name != "namespace.json")


def test_a_cache_hit_decides_exactly_as_a_fresh_score(tiny_lm_dir, threat_model, tmp_path):
    root = tmp_path / "scores"
    first, kept, table = _decide(tiny_lm_dir, threat_model, root)
    assert first.windows_scored == len(table) > 0 and first.pairs_from_cache == 0
    assert 0 < len(kept) < len(_swaps(threat_model)[1])  # the random LM keeps some swaps and drops others
    assert _blobs(root) and (next(root.iterdir()) / "namespace.json").is_file()

    again, kept_again, table_again = _decide(tiny_lm_dir, threat_model, root)
    assert again.windows_scored == 0 and again.pairs_from_cache == len(table)  # read, not scored
    assert table_again == table and kept_again == kept  # the very same floats, the same decisions

    fresh, kept_fresh, table_fresh = _decide(tiny_lm_dir, threat_model, "off")
    assert fresh.windows_scored == len(table) and kept_fresh == kept and table_fresh == table
    assert not fresh.persistent_cache()

    # decisions are taken from the scores with this run's threshold: a stored score serves another bound
    strict, kept_strict, _ = _decide(tiny_lm_dir, threat_model, root, drop=0.5)
    unstored, kept_unstored, _ = _decide(tiny_lm_dir, threat_model, "off", drop=0.5)
    assert strict.windows_scored == 0 and kept_strict == kept_unstored != kept

    # another LM (other weights) or another window never reads these scores
    from textattack_rift.attack_recipes.language_model import WindowLanguageModelFilter

    assert WindowLanguageModelFilter(str(tiny_lm_dir), window_radius=3, cache=root).cache_namespace() != first.cache_namespace()


def test_the_environment_variable_sets_or_disables_the_cache(tiny_lm_dir, threat_model, tmp_path, monkeypatch):
    monkeypatch.setenv(lm_cache.CACHE_ENV, str(tmp_path / "from-env"))
    lm, _, _ = _decide(tiny_lm_dir, threat_model, None)
    assert lm.persistent_cache().root == tmp_path / "from-env" and _blobs(tmp_path / "from-env")
    monkeypatch.setenv(lm_cache.CACHE_ENV, "off")
    assert _decide(tiny_lm_dir, threat_model, None)[0].persistent_cache() is None
    monkeypatch.delenv(lm_cache.CACHE_ENV)
    monkeypatch.setenv("TEXTATTACK_RIFT_HOME", str(tmp_path / "home"))
    assert lm_cache.resolve_location(None) == (tmp_path / "home" / "lm-scores", False)


def test_a_corrupt_entry_is_recomputed_never_trusted(tiny_lm_dir, threat_model, tmp_path, caplog):
    root = tmp_path / "scores"
    _, kept, table = _decide(tiny_lm_dir, threat_model, root)
    blobs = _blobs(root)
    assert len(blobs) == 1
    raw = json.loads(blobs[0].read_text())
    raw["entries"] = [[i, w, s + 100.0] for i, w, s in raw["entries"]]  # plausible JSON, wrong numbers
    blobs[0].write_text(json.dumps(raw, separators=(",", ":")))
    with caplog.at_level(logging.WARNING, logger="textattack_rift.attack_recipes"):
        lm, kept_again, table_again = _decide(tiny_lm_dir, threat_model, root)
    assert lm.windows_scored == len(table) and lm.pairs_from_cache == 0  # nothing taken from it
    assert table_again == table and kept_again == kept
    lines = [r.getMessage() for r in caplog.records if "corrupt" in r.getMessage()]
    assert len(lines) == 1 and str(blobs[0]) in lines[0] and "\n" not in lines[0]
    # removed, and the recomputed scores stored anew: the same bytes as before, under the same name
    assert _blobs(root) == blobs and json.loads(blobs[0].read_text())["entries"] != raw["entries"]

    torn = _blobs(root)[0]
    torn.write_bytes(torn.read_bytes()[:40])  # a torn file under its final name
    lm, kept_torn, _ = _decide(tiny_lm_dir, threat_model, root)
    assert lm.windows_scored == len(table) and kept_torn == kept


def _writer(root: str, namespace: str, worker: int, rounds: int) -> None:
    cache = lm_cache.WindowScoreCache(Path(root), namespace)
    key = cache.text_key([("text", SENTENCE)])
    for r in range(rounds):
        # overlapping pairs: every worker writes pair (r, "shared") with the same score
        cache.store(key, {(r, "shared"): float(r) / 7.0, (r, f"w{worker}"): worker + r / 1000.0})
        cache.load(key)  # readers fold many blobs into one while the others write


def test_concurrent_writers_do_not_corrupt(tmp_path, caplog):
    root, namespace, workers, rounds = tmp_path / "scores", "ns", 4, 40
    context = multiprocessing.get_context("fork")  # the children use the standard library only
    procs = [context.Process(target=_writer, args=(str(root), namespace, w, rounds)) for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0] * workers
    cache = lm_cache.WindowScoreCache(root, namespace)
    with caplog.at_level(logging.WARNING, logger="textattack_rift.attack_recipes"):
        table = cache.load(cache.text_key([("text", SENTENCE)]))
    assert cache.corrupt_seen == 0 and not caplog.records
    expected = {(r, "shared"): r / 7.0 for r in range(rounds)}
    expected.update({(r, f"w{w}"): w + r / 1000.0 for w in range(workers) for r in range(rounds)})
    assert table == expected
    assert not list(root.rglob("*.tmp"))
    assert len(_blobs(root)) < workers * rounds  # folded as it went


def test_a_cache_directory_that_cannot_be_written(tiny_lm_dir, threat_model, tmp_path, monkeypatch, caplog):
    from textattack_rift.attack_recipes.language_model import WindowLanguageModelFilter

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(RiftUserError) as err:  # chosen by the user: an error at once, before any work
        WindowLanguageModelFilter(str(tiny_lm_dir), threat_model=threat_model, cache=blocker / "scores")
    message = str(err.value)
    assert "\n" not in message and str(blocker / "scores") in message and lm_cache.CACHE_ENV in message
    monkeypatch.setenv(lm_cache.CACHE_ENV, str(blocker / "scores"))
    with pytest.raises(RiftUserError, match="cannot be written"):
        WindowLanguageModelFilter(str(tiny_lm_dir), threat_model=threat_model)

    # the default location: one warning, then the filter works with no persistent cache
    monkeypatch.delenv(lm_cache.CACHE_ENV)
    monkeypatch.setenv("TEXTATTACK_RIFT_HOME", str(blocker))
    with caplog.at_level(logging.WARNING, logger="textattack_rift.attack_recipes"):
        lm, kept, table = _decide(tiny_lm_dir, threat_model, None)
    assert lm.persistent_cache() is None and lm.windows_scored == len(table) > 0
    lines = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert kept == _decide(tiny_lm_dir, threat_model, "off")[1]


def test_bench_attack_times_the_lm_not_the_cache(tiny_lm_dir, threat_model, tiny_bert_dir, tmp_path, monkeypatch):
    from textattack_rift.bench.attack import RecipeRun
    from textattack_rift.models.loading import load_model

    monkeypatch.setenv(lm_cache.CACHE_ENV, str(tmp_path / "scores"))
    run = RecipeRun("rift-genetic", load_model(str(tiny_bert_dir)), {"lm": str(tiny_lm_dir), "pop_size": 4, "max_iters": 2},
                    threat_model)
    assert run.lm is not None and run.lm.persistent_cache() is None
    run.lm.set_cache(tmp_path / "chosen")
    assert run.lm.persistent_cache().root == tmp_path / "chosen"
