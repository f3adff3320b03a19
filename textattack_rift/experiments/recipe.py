"""Experiment recipes: TOML files that name the data, the model, the threat model, the methods to
train and the evaluation, checked completely before anything is trained.

Every mistake (a TOML syntax error, an unknown key, a missing required key, an unknown method or
attack, a value of the wrong type or out of range) is one ``RiftUserError`` naming the file, the
dotted key and what is allowed. ``--set key=value`` overrides are applied to the parsed table before
the check, so they are checked the same way.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from textattack_rift.errors import RiftUserError

RECIPE_SUFFIX = ".toml"


# -- the schema: one dataclass per table; fields without a default are required ------------------
@dataclass
class DataSpec:
    """[data]: the dataset and the training / model-selection splits (validation, never test)."""

    dataset: str
    train_split: str = "train"
    eval_split: str = "validation"


@dataclass
class ModelSpec:
    """[model]: the pre-trained encoder every method starts from."""

    name: str
    max_length: int = 128


@dataclass
class ThreatSpec:
    """[threat_model]: the arguments of ``ThreatModel`` shared by training and every attack."""

    synonyms: str = "wordnet"
    synonym_build_args: dict = field(default_factory=dict)
    stopwords: bool = True
    max_word_ratio: float | None = None
    pos_check: bool = False
    perturbable_columns: list[str | int] | None = None


@dataclass
class TrainingSpec:
    """[training]: the budget every method shares (same seed, data order, epochs or steps).

    ``seed``: one training run per method (the outputs sit directly in the run folder); ``seeds``: one
    run per method and seed (each seed in ``seed-<s>/``). Give one of them; with ``seeds`` the
    resolved ``seed`` is None."""

    num_epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    seed: int | None = 765
    seeds: list[int] | None = None
    max_steps: int | None = None
    rift_args: dict = field(default_factory=dict)


@dataclass
class MethodTable:
    """[methods.<label>]: one row of the report. ``method`` defaults to the label."""

    method: str | None = None
    rift_args: dict = field(default_factory=dict)
    attack: str | None = None


@dataclass
class EvaluationSpec:
    """[evaluation]: one seeded subset of one split, attacked by every attack, for every method.

    ``subset_seed`` draws the subset (the first ``num_examples`` of one seeded permutation, so a larger
    subset contains a smaller one); ``attack_seed`` seeds each (attack, example) of a randomised attack.
    They were one key, ``seed``, before; ``seed = N`` meant both = N."""

    attacks: list[str]
    split: str = "test"
    num_examples: int = 100
    subset_seed: int = 0
    attack_seed: int = 0
    parallel: int = 1
    attack_options: dict = field(default_factory=dict)


@dataclass
class MethodSpec:
    """One method to train: ``rift_args`` = the shared ``training.rift_args``, then the method's preset
    (e.g. gamma = 0 for ascc), then the method's own ``rift_args``."""

    label: str
    method: str
    rift_args: dict
    attack: str | None = None


@dataclass
class Recipe:
    """A checked recipe: what ``run_recipe`` trains, attacks and reports."""

    path: Path
    name: str
    description: str
    data: DataSpec
    model: ModelSpec
    threat_model: ThreatSpec
    training: TrainingSpec
    methods: list[MethodSpec]
    evaluation: EvaluationSpec

    def to_dict(self) -> dict:
        """The resolved recipe (overrides applied, defaults filled in), without the file's path."""
        out = dataclasses.asdict(self)
        out.pop("path")
        return out

    def build_threat_model(self):
        from textattack_rift.threat import ThreatModel

        spec = self.threat_model
        return ThreatModel(
            spec.synonyms,
            synonym_build_args=spec.synonym_build_args,
            stopwords=spec.stopwords,
            max_word_ratio=spec.max_word_ratio,
            pos_check=spec.pos_check,
            perturbable_columns=spec.perturbable_columns,
        )

    @property
    def seeds(self) -> list[int]:
        """The training seeds, in order: ``training.seeds``, or the one ``training.seed``."""
        return list(self.training.seeds) if self.training.seeds is not None else [self.training.seed]

    @property
    def per_seed_folders(self) -> bool:
        """Whether each seed's models and evaluations sit in ``seed-<s>/`` (recipes with ``seeds``)."""
        return self.training.seeds is not None

    @property
    def synonyms_label(self) -> str:
        """'wordnet', 'counterfitted', or a table file's stem: names the default output folder."""
        spec = self.threat_model.synonyms
        return spec if spec in ("wordnet", "counterfitted") else Path(spec).stem


TOP_LEVEL = {
    "description": None,
    "data": DataSpec,
    "model": ModelSpec,
    "threat_model": ThreatSpec,
    "training": TrainingSpec,
    "methods": None,
    "evaluation": EvaluationSpec,
}
REQUIRED_TABLES = ("data", "model", "methods", "evaluation")

# Ranges a value must lie in, beyond its type: key -> (check, description of what is allowed).
_RANGES = {
    "model.max_length": (lambda v: v >= 8, "an integer >= 8"),
    "training.num_epochs": (lambda v: v >= 1, "an integer >= 1"),
    "training.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "training.learning_rate": (lambda v: v > 0, "a number > 0"),
    "training.seed": (lambda v: v >= 0, "an integer >= 0"),
    "training.max_steps": (lambda v: v >= 1, "an integer >= 1 (omit it to train for num_epochs)"),
    "threat_model.max_word_ratio": (lambda v: 0 < v <= 1, "a number in (0, 1] (omit it for no cap)"),
    "evaluation.num_examples": (lambda v: v >= 1, "an integer >= 1"),
    "evaluation.subset_seed": (lambda v: v >= 0, "an integer >= 0"),
    "evaluation.attack_seed": (lambda v: v >= 0, "an integer >= 0"),
    "evaluation.parallel": (lambda v: v >= 1, "an integer >= 1"),
}


# -- where recipes live --------------------------------------------------------------------------
def recipe_dirs() -> list[Path]:
    """Folders searched for a bare recipe name: the copy shipped in the wheel
    (``textattack_rift/recipes_data``), then the repository's ``recipes/`` (editable installs)."""
    package = Path(__file__).resolve().parents[1]
    return [d for d in (package / "recipes_data", package.parent / "recipes") if d.is_dir()]


def available_recipes() -> list[str]:
    names: set[str] = set()
    for folder in recipe_dirs():
        names.update(p.stem for p in folder.glob(f"*{RECIPE_SUFFIX}"))
    return sorted(names)


def find_recipe(name_or_path: str | os.PathLike) -> Path:
    """A path to an existing file, or a bare name (with or without ``.toml``) of a shipped recipe."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise RiftUserError(f"recipe {str(name_or_path)!r} is not a file")
    stem = path.name[: -len(RECIPE_SUFFIX)] if path.name.endswith(RECIPE_SUFFIX) else path.name
    if path.parent == Path("."):
        for folder in recipe_dirs():
            candidate = folder / f"{stem}{RECIPE_SUFFIX}"
            if candidate.is_file():
                return candidate
    names = ", ".join(available_recipes()) or "none found"
    raise RiftUserError(f"no recipe file {str(name_or_path)!r}; give a path to a .toml file or one of: {names}")


# -- overrides -----------------------------------------------------------------------------------
def parse_override(text: str) -> tuple[str, Any]:
    """``"training.num_epochs=2"`` -> ``("training.num_epochs", 2)``.

    The value is read as a TOML value (``2``, ``2e-5``, ``true``, ``"x"``, ``["a", "b"]``,
    ``{beta = 5}``); anything that is not valid TOML is taken as a plain string, so
    ``data.train_split=train[:500]`` needs no quotes.
    """
    key, sep, raw = str(text).partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not p.strip() for p in parts):
        raise RiftUserError(
            f"--set {text!r}: write KEY=VALUE with a dotted key, e.g. training.num_epochs=2 or methods.rift.rift_args.gamma=0.5"
        )
    raw = raw.strip()
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw
    return ".".join(p.strip() for p in parts), value


def apply_overrides(table: dict, overrides: Iterable[tuple[str, Any]]) -> dict:
    """Set each dotted key in a copy of ``table``, creating tables on the way (checked afterwards)."""
    import copy

    out = copy.deepcopy(table)
    for key, value in overrides:
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise RiftUserError(f"--set {key}: {'.'.join(parts[: i + 1])} is a value, not a table")
            node = child
        node[parts[-1]] = value
    return out


# -- checking ------------------------------------------------------------------------------------
class _Checker:
    """Turns a parsed TOML table into a Recipe, raising one RiftUserError at the first mistake."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str) -> RiftUserError:
        return RiftUserError(f"{self.source}: {key}: {problem}")

    # value checks -------------------------------------------------------------------------------
    def value(self, key: str, value: Any, kind: Any) -> Any:
        """Check ``value`` against the annotation ``kind`` (str, int, float, bool, list[...], dict, X | None)."""
        args = typing.get_args(kind)
        if type(None) in args:  # X | None: TOML has no null, so None only comes from the default
            inner = [a for a in args if a is not type(None)]
            return self.value(key, value, inner[0] if len(inner) == 1 else typing.Union[tuple(inner)])
        origin = typing.get_origin(kind)
        if origin is list:
            if not isinstance(value, list):
                raise self.fail(key, f"must be a list ({_describe(args[0])} items), got {_show(value)}")
            return [self.value(f"{key}[{i}]", item, args[0]) for i, item in enumerate(value)]
        if origin in (typing.Union, types.UnionType):
            for option in args:
                try:
                    return self.value(key, value, option)
                except RiftUserError:
                    pass
            raise self.fail(key, f"must be {_describe(kind)}, got {_show(value)}")
        if kind is dict:
            if not isinstance(value, dict):
                raise self.fail(key, f"must be a table (e.g. {{ name = value }}), got {_show(value)}")
            return value
        if kind is bool:
            if not isinstance(value, bool):
                raise self.fail(key, f"must be true or false, got {_show(value)}")
            return value
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(key, f"must be an integer, got {_show(value)}")
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(key, f"must be a number, got {_show(value)}")
            value = float(value)
        elif kind is str:
            if not isinstance(value, str) or not value.strip():
                raise self.fail(key, f"must be a non-empty string, got {_show(value)}")
            value = value.strip()
        else:  # pragma: no cover - a schema annotation this checker does not know
            raise TypeError(f"unsupported schema type {kind!r} for {key}")
        check = _RANGES.get(key)
        if check is not None and not check[0](value):
            raise self.fail(key, f"must be {check[1]}, got {_show(value)}")
        return value

    def table(self, key: str, value: Any, cls: type, required: bool = False) -> Any:
        """Check a TOML table against dataclass ``cls``: unknown keys, missing keys, each value's type."""
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table [{key}], got {_show(value)}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        allowed = ", ".join(fields)
        for name in value:
            if name not in fields:
                raise self.fail(f"{key}.{name}", f"unknown key; allowed keys in [{key}]: {allowed}")
        kwargs = {}
        for name, f in fields.items():
            dotted = f"{key}.{name}"
            if name in value:
                kwargs[name] = self.value(dotted, value[name], hints[name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise self.fail(dotted, f"missing required key ({_describe(hints[name])}); keys in [{key}]: {allowed}")
        return cls(**kwargs)

    # domain checks ------------------------------------------------------------------------------
    def rift_args(self, key: str, overrides: Mapping) -> dict:
        """Keys and types of RiftArgs fields, then RiftArgs' own range checks."""
        from textattack_rift.training.args import RiftArgs

        hints = typing.get_type_hints(RiftArgs)
        allowed = ", ".join(f.name for f in dataclasses.fields(RiftArgs))
        checked = {}
        for name, value in overrides.items():
            if name not in hints:
                raise self.fail(f"{key}.{name}", f"unknown RiftArgs field; allowed: {allowed}")
            checked[name] = self.value(f"{key}.{name}", value, hints[name])
        try:
            RiftArgs(**checked)
        except ValueError as err:
            raise self.fail(key, str(err)) from None
        return checked

    def seeds(self, training: TrainingSpec, seed_given: bool) -> None:
        """``training.seeds``: not beside ``training.seed``, not empty, distinct integers >= 0."""
        allowed = "distinct integers >= 0, e.g. seeds = [765, 766, 767]"
        if seed_given:
            raise self.fail("training.seeds", "give either training.seed = N (one run per method) or training.seeds = "
                            "[N, ...] (one run per method and seed), not both")
        if not training.seeds:
            raise self.fail("training.seeds", f"the list is empty; allowed: {allowed} (or seed = N for one run)")
        first: dict[int, int] = {}
        for i, seed in enumerate(training.seeds):
            if seed < 0:
                raise self.fail(f"training.seeds[{i}]", f"must be an integer >= 0, got {_show(seed)}; allowed: {allowed}")
            if seed in first:
                raise self.fail(f"training.seeds[{i}]", f"seed {seed} is listed twice (also training.seeds[{first[seed]}]); "
                                f"allowed: {allowed}")
            first[seed] = i
        training.seed = None  # the seeds list is the one source; a default seed beside it would mislead

    def split(self, key: str, spec: str) -> str:
        import datasets

        try:
            datasets.ReadInstruction.from_spec(spec)
        except (ValueError, AssertionError):
            raise self.fail(key, f"invalid split {spec!r}; write e.g. 'train', 'train[:2000]', 'test[10%:]', "
                            "'train[:45%]+train[50%:95%]'") from None
        return spec

    def methods(self, value: Any, shared_rift_args: dict) -> list[MethodSpec]:
        known = _known_methods()
        if not isinstance(value, dict):
            raise self.fail("methods", f"must be tables [methods.<label>] (label = one of {', '.join(known)}), got {_show(value)}")
        if not value:
            raise self.fail("methods", f"no method to train; add e.g. [methods.standard]; allowed methods: {', '.join(known)}")
        out = []
        for label, table in value.items():
            key = f"methods.{label}"
            spec = self.table(key, table, MethodTable)
            method = spec.method or label
            if method not in known:
                where = f"{key}.method" if spec.method else key
                hint = "" if spec.method else f" (or name the row freely and set {key}.method)"
                raise self.fail(where, f"unknown method {method!r}; allowed: {', '.join(known)}{hint}")
            if method == "textattack-at":
                if spec.rift_args:
                    raise self.fail(f"{key}.rift_args", "method 'textattack-at' (TextAttack's discrete adversarial "
                                    "training) takes no rift_args; it takes attack = <recipe name>")
                if spec.attack is not None:
                    self.attack_name(f"{key}.attack", spec.attack)
                out.append(MethodSpec(label=label, method=method, rift_args={}, attack=spec.attack))
                continue
            if spec.attack is not None:
                raise self.fail(f"{key}.attack", "only method 'textattack-at' takes an attack (its training attack)")
            own = self.rift_args(f"{key}.rift_args", spec.rift_args)
            # The method's preset (e.g. gamma = 0 for ascc) wins over the shared [training.rift_args];
            # only the method's own rift_args may change it, and then it must still be that method.
            merged = {**shared_rift_args, **_presets()[method], **own}
            made = self.rift_args(f"{key}.rift_args", merged)
            from textattack_rift.training.args import RiftArgs

            actual = RiftArgs(**made).method
            if actual != method:
                given = ", ".join(f"{k}={v}" for k, v in own.items()) or "the shared [training.rift_args]"
                raise self.fail(f"{key}.rift_args", f"these weights ({given}) make method {actual!r}, not "
                                f"{method!r}; label the row {actual!r} or change the weights")
            out.append(MethodSpec(label=label, method=method, rift_args=merged))
        return out

    def attack_name(self, key: str, name: str) -> str:
        known = _known_attacks()
        if name not in known:
            raise self.fail(key, f"unknown attack {name!r}; allowed: {', '.join(known)}")
        return name

    def attacks(self, evaluation: EvaluationSpec) -> None:
        if not evaluation.attacks:
            raise self.fail("evaluation.attacks", f"the list is empty; allowed attacks: {', '.join(_known_attacks())}")
        seen = set()
        for i, name in enumerate(evaluation.attacks):
            self.attack_name(f"evaluation.attacks[{i}]", name)
            if name in seen:
                raise self.fail(f"evaluation.attacks[{i}]", f"attack {name!r} is listed twice")
            seen.add(name)
        for name, options in evaluation.attack_options.items():
            if name not in seen:
                raise self.fail(f"evaluation.attack_options.{name}",
                                f"options for an attack that is not run; attacks: {', '.join(evaluation.attacks)}")
            if not isinstance(options, dict):
                raise self.fail(f"evaluation.attack_options.{name}", f"must be a table of options, got {_show(options)}")


def _known_methods() -> tuple[str, ...]:
    from textattack_rift.training.api import METHODS

    return tuple(METHODS)


def _presets() -> dict:
    from textattack_rift.training.args import PRESETS

    return PRESETS


def _known_attacks() -> tuple[str, ...]:
    """The rift- recipes and TextAttack's stock recipes (what ``build_attack`` accepts)."""
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    from textattack_rift.attack_recipes import RECIPES

    return tuple(sorted(RECIPES)) + tuple(sorted(n for n in ATTACK_RECIPE_NAMES if not n.startswith("rift-")))


def _describe(kind: Any) -> str:
    args = typing.get_args(kind)
    if type(None) in args:
        return _describe(next(a for a in args if a is not type(None)))
    if typing.get_origin(kind) is list:
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "a table"}.get(kind, str(kind))


def _show(value: Any) -> str:
    kind = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list", dict: "table"}.get(
        type(value), type(value).__name__
    )
    return f"{value!r} ({kind})"


# -- loading -------------------------------------------------------------------------------------
def parse_table(table: Mapping, source: str, path: Path | None = None, name: str | None = None) -> Recipe:
    """Check a parsed recipe table; ``source`` names it in error messages."""
    check = _Checker(source)
    if not isinstance(table, Mapping):
        raise RiftUserError(f"{source}: a recipe must be a TOML table")
    allowed = ", ".join(TOP_LEVEL)
    for key in table:
        if key not in TOP_LEVEL:
            raise check.fail(key, f"unknown key; allowed top-level keys and tables: {allowed}")
    for key in REQUIRED_TABLES:
        if key not in table:
            raise check.fail(key, f"missing required table [{key}]; a recipe has: {allowed}")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise check.fail("description", f"must be a string, got {_show(description)}")
    data = check.table("data", table["data"], DataSpec)
    check.split("data.train_split", data.train_split)
    check.split("data.eval_split", data.eval_split)
    model = check.table("model", table["model"], ModelSpec)
    threat = check.table("threat_model", table.get("threat_model"), ThreatSpec)
    training = check.table("training", table.get("training"), TrainingSpec)
    raw_training = table.get("training") or {}
    if training.seeds is not None:
        check.seeds(training, "seed" in raw_training)
    shared = check.rift_args("training.rift_args", training.rift_args)
    training.rift_args = shared
    methods = check.methods(table["methods"], shared)
    if isinstance(table["evaluation"], dict) and "seed" in table["evaluation"]:
        raise check.fail("evaluation.seed", "renamed: the subset and the attacks have a seed each now; write "
                         "subset_seed = N and attack_seed = N (N for both reproduces a run made with seed = N)")
    evaluation = check.table("evaluation", table["evaluation"], EvaluationSpec)
    check.split("evaluation.split", evaluation.split)
    check.attacks(evaluation)
    return Recipe(
        path=path or Path(source),
        name=name or (path.stem if path else source),
        description=description.strip(),
        data=data,
        model=model,
        threat_model=threat,
        training=training,
        methods=methods,
        evaluation=evaluation,
    )


def parse_seeds(text: str) -> list[int]:
    """``"1,2,3"`` (the CLI's ``--seeds``) -> ``[1, 2, 3]``; emptiness and duplicates are the recipe
    check's to report (with the file and key)."""
    parts = [p.strip() for p in str(text).split(",")]
    if parts == [""]:
        return []
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise RiftUserError(f"--seeds {text!r}: write distinct integers >= 0 separated by commas, e.g. --seeds 1,2,3") from None


def load_recipe(
    name_or_path: str | os.PathLike,
    *,
    overrides: Iterable[str | tuple[str, Any]] = (),
    synonyms: str | None = None,
    seeds: Iterable[int] | str | None = None,
) -> Recipe:
    """Read, override and check a recipe. ``overrides`` are ``"key=value"`` strings or (key, value)
    pairs; ``synonyms`` replaces ``threat_model.synonyms`` (the CLI's ``--synonyms``); ``seeds``
    (a list, or ``"1,2,3"``) replaces the training seed(s) (the CLI's ``--seeds``)."""
    path = find_recipe(name_or_path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise RiftUserError(f"{path}: not valid TOML ({err})") from None
    except UnicodeDecodeError:
        raise RiftUserError(f"{path}: not a UTF-8 text file") from None
    pairs = [parse_override(o) if isinstance(o, str) else tuple(o) for o in overrides]
    if synonyms is not None:
        pairs.append(("threat_model.synonyms", synonyms))
    if seeds is not None:
        pairs.append(("training.seeds", parse_seeds(seeds) if isinstance(seeds, str) else [int(s) for s in seeds]))
    source = str(path)
    if pairs:
        source += " (with --set " + ", ".join(f"{k}={v!r}" for k, v in pairs) + ")"
    table = apply_overrides(table, pairs)
    keys = {k for k, _ in pairs}
    if "training.seeds" in keys and "training.seed" not in keys and isinstance(table.get("training"), dict):
        table["training"].pop("seed", None)  # seeds given on the command line replace the file's one seed
    return parse_table(table, source, path=path, name=path.stem)
