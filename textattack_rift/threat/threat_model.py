"""The threat model: one synonym set, the constraints, and which input columns may change.

The trainer builds its convex hulls from it, every attack recipe takes its transformation and
constraints from it, and it is saved as ``threat_model.json`` beside every model and report, with a
fingerprint that changes whenever the synonyms or a constraint change.

Its TextAttack transformation, :class:`ThreatModelWordSwap`, lives here too: the two need each other
(a threat model gives its word swap; a word swap built by name, as TextAttack's ``--transformation``
does, builds the default threat model), so one module holds both and imports run one way
(``transformation`` re-exports the swap under its old path). This module therefore imports TextAttack.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence

from textattack.transformations import WordSwap

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.resources import atomic
from textattack_rift.resources.stopwords import english_stopwords
from textattack_rift.threat import columns as _columns
from textattack_rift.threat.synonyms.base import SynonymSet, fingerprint_of

FILENAME = "threat_model.json"
FORMAT = "textattack-rift/threat-model"
VERSION = 1
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _as_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise RiftUserError(f"{name} must be true or false, got {value!r}")


def _as_ratio(value) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none", "null"}):
        return None
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise RiftUserError(f"max word ratio must be a number in (0, 1], got {value!r}") from None
    if not 0.0 < ratio <= 1.0:
        raise RiftUserError(f"max word ratio must be in (0, 1], got {ratio}: omit it for no cap (the paper's setting)")
    return ratio


class ThreatModel:
    """Synonym set + constraints + perturbable columns (RIFT-SPEC section 2).

    Args:
        synonyms: ``"wordnet"`` (offline default), ``"counterfitted"`` (the paper's table), a path to a
            JSON table, or a loaded :class:`SynonymSet`.
        synonym_build_args: options for building the set (e.g. ``{"min_similarity": 0.35}`` for WordNet).
        stopwords: stop words are never swapped.
        max_word_ratio: at most this fraction of the words changes in an attack (None: no cap, as in
            the paper). The embedding-space adversary has no cap either way.
        pos_check: swaps must keep a WordNet part of speech (offline).
        perturbable_columns: column names or indices that may change; None = all of a single text, the
            last column (hypothesis) of a pair.
        expected_synonym_fingerprint: when set, loading a different synonym set is an error.

    A word may also be swapped at most once (the set is "synonyms of the original word", not chains of
    synonyms); that is part of the definition, not an option.
    """

    def __init__(
        self,
        synonyms: str | os.PathLike | SynonymSet = "wordnet",
        *,
        synonym_build_args: Mapping | None = None,
        stopwords: bool = True,
        max_word_ratio: float | None = None,
        pos_check: bool = False,
        perturbable_columns: Sequence[str | int] | str | None = None,
        expected_synonym_fingerprint: str | None = None,
    ):
        self._synonyms: SynonymSet | None = None
        if isinstance(synonyms, SynonymSet):
            self._synonyms = synonyms
            self.synonym_spec = synonyms.spec
            self.synonym_build_args = dict(synonyms.build_args if synonym_build_args is None else synonym_build_args)
            self.synonym_name = synonyms.name
        else:
            spec = str(synonyms).strip() if synonyms is not None else ""
            if not spec:
                raise RiftUserError("empty synonym set name: use counterfitted, wordnet or a path to a JSON table")
            if spec.lower() in ("counterfitted", "wordnet"):
                spec = spec.lower()
            else:  # a path: absolute, so that a saved threat model does not depend on the working directory
                spec = str(Path(spec).expanduser().resolve())
            self.synonym_spec = spec
            self.synonym_build_args = dict(synonym_build_args or {})
            self.synonym_name = spec if spec in ("counterfitted", "wordnet") else Path(spec).stem
        self._set_constraints(stopwords, max_word_ratio, pos_check, perturbable_columns, expected_synonym_fingerprint)
        if self._synonyms is not None:
            self._check_fingerprint(self._synonyms)

    def _set_constraints(self, stopwords, max_word_ratio, pos_check, perturbable_columns, expected_fingerprint):
        self.stopwords = _as_bool(stopwords, "stopwords")
        self.max_word_ratio = _as_ratio(max_word_ratio)
        self.pos_check = _as_bool(pos_check, "pos_check")
        self.perturbable_columns = _columns.normalise_spec(perturbable_columns)
        self.expected_synonym_fingerprint = expected_fingerprint
        self._stopword_set = frozenset(english_stopwords()) if self.stopwords else frozenset()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_cli(
        cls,
        synonyms: str = "wordnet",
        *,
        stopwords=True,
        max_word_ratio=None,
        pos_check=False,
        perturbable_columns=None,
        **synonym_build_args,
    ) -> "ThreatModel":
        """From command-line values (strings are accepted): ``--synonyms counterfitted|wordnet|PATH`` etc."""
        return cls(
            synonyms or "wordnet",
            synonym_build_args={k: v for k, v in synonym_build_args.items() if v is not None},
            stopwords=stopwords,
            max_word_ratio=max_word_ratio,
            pos_check=pos_check,
            perturbable_columns=perturbable_columns,
        )

    # -- the synonym set ----------------------------------------------------------------------
    @property
    def synonym_label(self) -> str:
        """A short name for logs, without loading the set."""
        return self.synonym_name

    @property
    def synonyms(self) -> SynonymSet:
        """The loaded synonym set (loaded on first use)."""
        if self._synonyms is None:
            if self.synonym_spec is None:
                raise ResourceMissing(
                    f"this threat model uses an in-memory synonym set {self.synonym_name!r} "
                    f"(fingerprint {self.expected_synonym_fingerprint}): pass it, e.g. ThreatModel.load(path, synonyms=...)"
                )
            from textattack_rift.threat.synonyms.registry import build_synonym_set

            loaded = build_synonym_set(self.synonym_spec, **self.synonym_build_args)
            self._check_fingerprint(loaded)
            self._synonyms = loaded
        return self._synonyms

    def _check_fingerprint(self, synonyms: SynonymSet) -> None:
        expected = self.expected_synonym_fingerprint
        if expected and synonyms.fingerprint != expected:
            raise RiftUserError(
                f"synonym set {synonyms.name!r} here has fingerprint {synonyms.fingerprint}, but the threat model "
                f"expects {expected}: the saved run used different synonyms; rebuild them as it did "
                f"({self.synonym_spec}, {self.synonym_build_args or 'default settings'}) or pass that set explicitly"
            )

    # -- what may change ----------------------------------------------------------------------
    def is_protected(self, word: str) -> bool:
        """True for a word that may never be swapped (a stop word, when stop words are protected)."""
        return word.lower() in self._stopword_set

    def swap_candidates(self, word: str) -> list[str]:
        """Replacements of ``word`` the threat model allows on its own (context-free checks only):
        its synonyms with its capitalisation, part-of-speech compatible when ``pos_check`` is on."""
        if self.is_protected(word):
            return []
        candidates = self.synonyms.recased_candidates(word)
        if self.pos_check:
            from textattack_rift.threat.pos import pos_compatible

            candidates = [c for c in candidates if pos_compatible(word, c)]
        return candidates

    def perturbable_column_indices(self, column_names: Sequence[str]) -> set[int]:
        return _columns.perturbable_column_indices(self.perturbable_columns, column_names)

    # -- TextAttack parts ---------------------------------------------------------------------
    def transformation(self) -> "ThreatModelWordSwap":
        return ThreatModelWordSwap(threat_model=self)

    def constraints(self) -> list:
        """TextAttack constraints: one swap per word, stop words, the ratio cap, the columns, the POS check."""
        from textattack.constraints.pre_transformation import MaxModificationRate, RepeatModification

        from textattack_rift.threat import constraints as ours

        out = [RepeatModification()]
        if self.stopwords:
            out.append(ours.CaseInsensitiveStopwordModification(sorted(self._stopword_set)))
        if self.max_word_ratio is not None:
            out.append(MaxModificationRate(max_rate=float(self.max_word_ratio), min_threshold=1))
        out.append(ours.PerturbableColumnsModification(self.perturbable_columns))
        if self.pos_check:
            out.append(ours.WordNetPartOfSpeech())
        return out

    # -- identity -----------------------------------------------------------------------------
    def _synonym_fingerprint(self) -> str:
        if self._synonyms is not None:
            return self._synonyms.fingerprint
        if self.expected_synonym_fingerprint:
            return self.expected_synonym_fingerprint
        return self.synonyms.fingerprint

    def _identity(self) -> dict:
        return {
            "version": VERSION,
            "synonyms": self._synonym_fingerprint(),
            "stopwords": fingerprint_of(sorted(self._stopword_set)) if self.stopwords else None,
            "max_word_ratio": self.max_word_ratio,
            "pos_check": self.pos_check,
            "perturbable_columns": self.perturbable_columns,
        }

    @property
    def fingerprint(self) -> str:
        """Short hex digest of the synonym set's fingerprint and every constraint setting."""
        return fingerprint_of(self._identity())

    def __eq__(self, other) -> bool:
        return isinstance(other, ThreatModel) and self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"ThreatModel({self.describe()})"

    def describe(self) -> str:
        """One line for logs and reports."""
        parts = [f"synonyms={self.synonym_label}"]
        if self._synonyms is not None:
            parts.append(f"{len(self._synonyms)} words")
        parts.append("stopwords kept" if self.stopwords else "stopwords swappable")
        parts.append(f"max ratio {self.max_word_ratio}" if self.max_word_ratio else "no ratio cap")
        if self.pos_check:
            parts.append("POS check")
        parts.append(f"columns={','.join(map(str, self.perturbable_columns)) if self.perturbable_columns else 'default'}")
        return ", ".join(parts)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        synonyms = self.synonyms
        return {
            "format": FORMAT,
            "version": VERSION,
            "synonyms": {
                "spec": self.synonym_spec,
                "build_args": dict(self.synonym_build_args),
                "name": synonyms.name,
                "size": len(synonyms),
                "fingerprint": synonyms.fingerprint,
                "settings": dict(synonyms.settings),
            },
            "stopwords": self.stopwords,
            "max_word_ratio": self.max_word_ratio,
            "pos_check": self.pos_check,
            "perturbable_columns": self.perturbable_columns,
            "fingerprint": self.fingerprint,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping, *, synonyms: SynonymSet | None = None, source: str = "threat model") -> "ThreatModel":
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise RiftUserError(f"{source} is not a textattack-rift threat model (no \"format\": \"{FORMAT}\")")
        if int(data.get("version", 0)) > VERSION:
            raise RiftUserError(f"{source} has threat-model version {data.get('version')}; upgrade textattack-rift")
        entry = data.get("synonyms") or {}
        if not isinstance(entry, Mapping):
            raise RiftUserError(f"{source}: \"synonyms\" must be an object")
        settings = dict(
            stopwords=data.get("stopwords", True),
            max_word_ratio=data.get("max_word_ratio"),
            pos_check=data.get("pos_check", False),
            perturbable_columns=data.get("perturbable_columns"),
        )
        expected = entry.get("fingerprint")
        if synonyms is not None:
            model = cls(synonyms, expected_synonym_fingerprint=expected, **settings)
        elif entry.get("spec") is None:
            # An in-memory set: keep its identity; the set itself must be passed before use.
            model = cls.__new__(cls)
            model._synonyms = None
            model.synonym_spec = None
            model.synonym_build_args = {}
            model.synonym_name = entry.get("name") or "in-memory"
            model._set_constraints(expected_fingerprint=expected, **settings)
        else:
            model = cls(
                entry["spec"], synonym_build_args=entry.get("build_args") or {}, expected_synonym_fingerprint=expected, **settings
            )
        recorded = data.get("fingerprint")
        if recorded and model.expected_synonym_fingerprint and recorded != model.fingerprint:
            raise RiftUserError(
                f"{source} records fingerprint {recorded} but its settings give {model.fingerprint}: "
                "the file was edited or this version's stop-word list differs; remove the \"fingerprint\" line to accept it"
            )
        return model

    @classmethod
    def from_json(cls, text: str | bytes | Mapping, **kw) -> "ThreatModel":
        if isinstance(text, Mapping):
            return cls.from_dict(text, **kw)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RiftUserError(f"threat model JSON is invalid ({err.msg} at line {err.lineno})") from None
        return cls.from_dict(data, **kw)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``<directory>/threat_model.json`` atomically; returns its path."""
        target = Path(directory) / FILENAME
        atomic.write_text(target, self.to_json())
        return target

    @classmethod
    def load(cls, path: str | os.PathLike, *, synonyms: SynonymSet | None = None) -> "ThreatModel":
        """From a directory holding ``threat_model.json`` or from the file itself."""
        path = Path(path).expanduser()
        file = path / FILENAME if path.is_dir() else path
        if not file.is_file():
            raise ResourceMissing(f"no {FILENAME} at {path}: was the model or report saved with a threat model?")
        return cls.from_json(file.read_text(encoding="utf-8"), synonyms=synonyms, source=str(file))


class ThreatModelWordSwap(WordSwap):
    """Swap a word for one of its synonyms (capitalisation kept), as the threat model allows.

    ``ThreatModelWordSwap()`` uses the default threat model (the ``wordnet`` set) so that TextAttack's
    ``--transformation`` can build it by name; ``synonyms`` takes ``counterfitted``/``wordnet``/a path,
    ``threat_model`` a whole :class:`ThreatModel`. The set itself is loaded at the first swap.
    """

    def __init__(self, threat_model=None, synonyms=None):
        super().__init__()
        if threat_model is not None and synonyms is not None:
            raise TypeError("give threat_model or synonyms, not both")
        if threat_model is None:
            threat_model = ThreatModel(synonyms if synonyms is not None else "wordnet")
        elif not isinstance(threat_model, ThreatModel):
            raise TypeError(f"threat_model must be a ThreatModel, got {type(threat_model).__name__}")
        self.threat_model = threat_model
        self.synonyms_name = threat_model.synonym_label  # for TextAttack's repr, without loading the set

    def _get_replacement_words(self, word):
        return self.threat_model.synonyms.recased_candidates(word)

    def extra_repr_keys(self):
        return ["synonyms_name"]
