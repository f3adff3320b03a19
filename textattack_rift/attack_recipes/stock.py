"""Stock TextAttack recipes: build them by name, and fail at once where their resources cannot exist.

Several stock recipes fetch something at build or attack time (TextAttack's S3 bucket, TF-Hub, the
Hugging Face hub, NLTK's tagger). Offline, TextAttack's ``download_from_s3`` leaves its file lock held
after the failed download (a second try in the process raises ``RuntimeError: Deadlock``) and the USE
download fails only at the first query, minutes into a run. The preflight below checks each recipe's
resources before anything is built or locked and raises one ``ResourceMissing`` line naming what is
missing and the ``rift-`` recipe to use instead. A resource counts as present when it is in TextAttack's
cache (S3 folders), installed (NLTK data, ``tensorflow_hub``), in the local Hugging Face cache, or when
its host answers a bounded connection probe.

TextFooler, Alzantot and faster-Alzantot do not stop: where a resource is missing they are rebuilt with
named offline stand-ins (``stock_offline``), unless ``TEXTATTACK_RIFT_STOCK_STRICT=1`` (``textattack
attack --stock-strict``) refuses stand-ins. With every resource present a stock recipe stays stock.
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


# what stock_offline's builders read: which resource is missing
KEYS = {PARAGRAMCF: "paragramcf", TAGGER: "tagger", USE: "use", GOOG_LM: "google_lm", TENSORFLOW: "tensorflow", L2W: "l2w"}


def _missing(recipe: str) -> list[tuple]:
    resources, _ = REQUIREMENTS.get(recipe, ((), ""))
    return [resource for resource in resources if not _present(resource[0], resource[1])]


def missing_resources(recipe: str) -> list[str]:
    """Descriptions of the resources ``recipe`` needs that are not available here (empty: all there)."""
    return [f"{what} ({_where(kind, ident)})" for kind, ident, what in _missing(recipe)]


def preflight(recipe: str) -> set:
    """The keys of the resources that offline stand-ins will replace (empty: the stock recipe as it is);
    raise ResourceMissing at once when the stock ``recipe`` cannot run here, stand-ins or not."""
    from textattack_rift.attack_recipes import stock_offline

    missing = _missing(recipe)
    if not missing:
        return set()
    described = "; ".join(f"{what} ({_where(kind, ident)})" for kind, ident, what in missing)
    keys = {KEYS.get(resource) for resource in missing}
    if recipe in stock_offline.BUILDERS and keys <= stock_offline.REPLACEABLE:
        if stock_offline.strict():
            raise ResourceMissing(
                f"recipe {recipe!r} needs {described}, not available here, and offline stand-ins are refused "
                f"(--stock-strict / {stock_offline.STRICT_ENV}=1): run it where the internet is reachable, "
                "or drop --stock-strict to use the named stand-ins"
            )
        lacking = stock_offline.stand_in_prerequisites(recipe, keys)
        if not lacking:
            return keys
        described += "; and its offline stand-ins need " + "; ".join(lacking)
    _, instead = REQUIREMENTS[recipe]
    advice = (
        f"use --recipe {instead} instead (the same kind of attack under the shared threat model, offline)"
        if instead
        else "run it where the internet is reachable"
    )
    raise ResourceMissing(f"recipe {recipe!r} needs {described}, not available here: {advice}")


def stock_recipe_class(name: str):
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    path = ATTACK_RECIPE_NAMES.get(name)
    if path is None:
        return None
    import importlib

    module_path, class_name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module_path), class_name)


def say_stand_ins(recipe: str, stand_ins: list[str]) -> None:
    import sys

    for line in stand_ins:
        print(f"textattack-rift: stock {recipe} offline stand-in: {line}", file=sys.stderr)


def build_stock(name: str, model_wrapper, threat_model=None):
    """TextAttack's own ``build(model_wrapper)`` for the stock recipe ``name``; where its resources are
    missing, the recipe with offline stand-ins (candidates from ``threat_model``, None: the active
    one), each stand-in printed in one line. The Attack carries ``rift_stand_ins`` (empty: stock)."""
    cls = stock_recipe_class(name)
    if cls is None:
        raise RiftUserError(f"unknown attack recipe {name!r}")
    missing = preflight(name)
    if not missing:
        attack = _original_build(cls)(model_wrapper)
        attack.rift_stand_ins = []
        return attack
    from textattack_rift.attack_recipes import stock_offline
    from textattack_rift.attack_recipes.base import resolve_threat_model

    threat_model = resolve_threat_model(threat_model)
    attack, stand_ins = stock_offline.BUILDERS[name](model_wrapper, threat_model, missing)
    say_stand_ins(name, stand_ins)
    attack.rift_stand_ins = stand_ins
    attack.rift_stand_in_threat_model = threat_model
    return attack


def _original_build(cls):
    build = cls.__dict__.get("build")
    function = build.__func__ if isinstance(build, (staticmethod, classmethod)) else build
    return getattr(function, "__wrapped__", function)


def install_preflight() -> None:
    """Wrap each listed stock recipe's ``build`` so that TextAttack's own ``--recipe`` path runs the
    preflight first, and builds the stand-ins where they apply (idempotent)."""
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
            if preflight(_name):  # stand-ins over the active threat model (set by `textattack attack`)
                return build_stock(_name, model_wrapper)
            return _function(model_wrapper, *args, **kwargs)

        build._rift_preflight = True
        build.__wrapped__ = function
        build.__doc__ = function.__doc__
        setattr(cls, "build", staticmethod(build))
