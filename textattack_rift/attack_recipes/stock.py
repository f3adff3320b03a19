"""Stock TextAttack recipes: build them by name, and fail at once where their resources cannot exist.

Several stock recipes fetch something at build or attack time (TextAttack's S3 bucket, TF-Hub, the
Hugging Face hub, NLTK's tagger). Offline, TextAttack's ``download_from_s3`` leaves its file lock held
after the failed download (a second try in the process raises ``RuntimeError: Deadlock``) and the USE
download fails only at the first query, minutes into a run. The preflight below checks each recipe's
resources before anything is built or locked and raises one ``ResourceMissing`` line naming what is
missing and the ``rift-`` recipe to use instead. A resource counts as present when it is in TextAttack's
cache (S3 folders), installed (NLTK data, ``tensorflow_hub``), in the local Hugging Face cache, or when
its host answers a bounded connection probe.
"""

from __future__ import annotations

import importlib.util
import os

from textattack_rift.errors import ResourceMissing, RiftUserError

S3_HOST = "textattack.s3.amazonaws.com"
TFHUB_HOST = "tfhub.dev"

# kind, identifier, what it is (for the message)
PARAGRAMCF = ("s3", "word_embeddings/paragramcf", "TextAttack's counter-fitted word embeddings")
L2W = ("s3", "constraints/grammaticality/language-models/learning-to-write", "the learning-to-write language model")
GOOG_LM = ("s3", "constraints/semantics/language-models/alzantot-goog-lm", "the Google 1-billion-word language model")
HOWNET = ("s3", "transformations/hownet/word_candidates_sense.pkl", "the HowNet synonym bank")
USE = ("tfhub", "https://tfhub.dev/google/universal-sentence-encoder/3", "the Universal Sentence Encoder")
TAGGER = ("nltk", "taggers/averaged_perceptron_tagger_eng", "NLTK's part-of-speech tagger")
TENSORFLOW = ("python", "tensorflow", "TensorFlow")


def _hf(model: str) -> tuple[str, str, str]:
    return ("hf", model, f"the Hugging Face model {model}")


# recipe -> (resources, what to use instead)
REQUIREMENTS: dict[str, tuple[tuple, str]] = {
    "textfooler": ((PARAGRAMCF, TAGGER, USE), "rift-textfooler"),
    "alzantot": ((PARAGRAMCF, GOOG_LM, TENSORFLOW), "rift-genetic"),
    "faster-alzantot": ((PARAGRAMCF, L2W), "rift-genetic"),
    "iga": ((PARAGRAMCF,), "rift-genetic"),
    "kuleshov": ((PARAGRAMCF, _hf("gpt2")), "rift-genetic"),
    "pso": ((HOWNET,), "rift-genetic"),
    "hotflip": ((PARAGRAMCF, TAGGER), "rift-ascc"),
    "textbugger": ((PARAGRAMCF, USE), "rift-textfooler"),
    "bae": ((_hf("bert-base-uncased"), TAGGER, USE), "rift-textfooler"),
    "bert-attack": ((_hf("bert-base-uncased"), USE), "rift-textfooler"),
    "clare": ((_hf("distilroberta-base"), USE), "rift-textfooler"),
    "a2t": ((PARAGRAMCF, TAGGER, _hf("sentence-transformers/stsb-distilbert-base")), "rift-textfooler"),
    "seq2sick": ((_hf("facebook/bart-large-cnn"),), ""),
}


def _reachable(host: str) -> bool:
    from textattack_rift.resources import network

    return network.hub_reachable(host=host)


def _present(kind: str, ident: str) -> bool:
    if kind == "s3":
        from textattack.shared.utils import path_in_cache

        return os.path.exists(path_in_cache(ident)) or _reachable(S3_HOST)
    if kind == "tfhub":
        return importlib.util.find_spec("tensorflow_hub") is not None and _reachable(TFHUB_HOST)
    if kind == "nltk":
        import nltk

        try:
            nltk.data.find(ident)
            return True
        except LookupError:
            return False
    if kind == "python":
        return importlib.util.find_spec(ident) is not None
    if kind == "hf":
        from textattack_rift.models.names import _in_hf_cache
        from textattack_rift.resources import network

        return network.hub_reachable() or _in_hf_cache(ident)
    raise ValueError(f"unknown resource kind {kind!r}")


def _where(kind: str, ident: str) -> str:
    return {
        "s3": f"S3 {ident}",
        "tfhub": f"TF-Hub {ident}, needs tensorflow_hub: pip install 'textattack-rift[use]'",
        "nltk": f"NLTK data {ident}",
        "python": f"pip install {ident}",
        "hf": "Hugging Face hub",
    }[kind]


def missing_resources(recipe: str) -> list[str]:
    """Descriptions of the resources ``recipe`` needs that are not available here (empty: all there)."""
    resources, _ = REQUIREMENTS.get(recipe, ((), ""))
    return [f"{what} ({_where(kind, ident)})" for kind, ident, what in resources if not _present(kind, ident)]


def preflight(recipe: str) -> None:
    """Raise ResourceMissing at once when the stock ``recipe`` cannot get its resources here."""
    missing = missing_resources(recipe)
    if not missing:
        return
    _, instead = REQUIREMENTS[recipe]
    advice = (
        f"use --recipe {instead} instead (the same kind of attack under the shared threat model, offline)"
        if instead
        else "run it where the internet is reachable"
    )
    raise ResourceMissing(f"recipe {recipe!r} needs {'; '.join(missing)}, not available here: {advice}")


def stock_recipe_class(name: str):
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    path = ATTACK_RECIPE_NAMES.get(name)
    if path is None:
        return None
    import importlib

    module_path, class_name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module_path), class_name)


def build_stock(name: str, model_wrapper):
    """Preflight, then TextAttack's own ``build(model_wrapper)`` for the stock recipe ``name``."""
    cls = stock_recipe_class(name)
    if cls is None:
        raise RiftUserError(f"unknown attack recipe {name!r}")
    preflight(name)
    return cls.build(model_wrapper)


def install_preflight() -> None:
    """Wrap each listed stock recipe's ``build`` so that TextAttack's own ``--recipe`` path runs the
    preflight first (idempotent)."""
    for name in REQUIREMENTS:
        cls = stock_recipe_class(name)
        if cls is None:
            continue
        original = cls.__dict__.get("build")
        if original is None:
            continue
        function = original.__func__ if isinstance(original, (staticmethod, classmethod)) else original
        if getattr(function, "_rift_preflight", False):
            continue

        def build(model_wrapper, *args, _name=name, _function=function, **kwargs):
            preflight(_name)
            return _function(model_wrapper, *args, **kwargs)

        build._rift_preflight = True
        build.__wrapped__ = function
        build.__doc__ = function.__doc__
        setattr(cls, "build", staticmethod(build))
