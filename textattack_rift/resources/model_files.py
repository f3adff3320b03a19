"""Check a model directory's files before ``from_pretrained`` reads them.

A file that exists but is truncated or not what its name says (a cut download, a copy that ran out of
disk) makes transformers raise deep inside its loaders, or, through TextAttack's model arguments, a
misleading ``Must supply pretrained model or dataset``. ``check_model_dir`` reads the headers and the
small JSON files and raises one ``RiftUserError`` naming the file and what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

from textattack_rift.errors import RiftUserError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SHARD_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
JSON_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def _bad(path: Path, problem: str) -> RiftUserError:
    return RiftUserError(f"{path}: {problem}; replace it (copy or save the model again) or point to another model")


def _check_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _bad(path, "is not a text file (expected JSON)") from None
    except ValueError as err:
        raise _bad(path, f"is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise _bad(path, "is not a JSON object")
    return data


def _check_safetensors(path: Path) -> None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            handle.keys()
    except Exception as err:  # SafetensorError: truncated or not a safetensors file
        raise _bad(path, f"is not a readable safetensors file ({err})") from None


def _check_torch_bin(path: Path) -> None:
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # truncated zip, pickle error, not a torch file
        raise _bad(path, f"is not a readable PyTorch weights file ({type(err).__name__}: {err})") from None


def check_model_dir(directory: str | Path) -> None:
    """Raise RiftUserError when a config, weight or tokenizer file of ``directory`` cannot be read.

    A directory without a weights file or config is left to ``from_pretrained`` (its message is clear).
    """
    directory = Path(directory)
    if not directory.is_dir():
        return
    config = directory / "config.json"
    if config.is_file() and "model_type" not in _check_json(config):
        raise _bad(config, "has no 'model_type' (not a Hugging Face model config)")
    for name in JSON_FILES[1:]:
        if (directory / name).is_file():
            _check_json(directory / name)
    vocab = directory / "vocab.txt"
    if vocab.is_file() and vocab.stat().st_size == 0:
        raise _bad(vocab, "is empty")
    for name in SHARD_INDEXES:
        index = directory / name
        if index.is_file():
            shards = sorted(set(_check_json(index).get("weight_map", {}).values()))
            for shard in shards:
                if not (directory / shard).is_file():
                    raise _bad(directory / shard, f"is missing (listed in {name})")
                _check_weights(directory / shard)
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            _check_weights(directory / name)


def _check_weights(path: Path) -> None:
    if path.stat().st_size == 0:
        raise _bad(path, "is empty")
    if path.suffix == ".safetensors":
        _check_safetensors(path)
    else:
        _check_torch_bin(path)
