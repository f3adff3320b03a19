"""A persistent, content-addressed store of rift-genetic's language-model window scores.

The LM filter judges every swap against the ORIGINAL text, so the score of a (position, candidate)
pair depends on the LM, its settings and the example's text only, never on the attacked model, the
method that trained it or the run. Stored once, the scores serve every evaluation, attack run and
resume that attacks the same examples; the filter still takes its decisions from the scores (with the
threshold of the run), so a stored score gives exactly the decision the same score computed afresh
gives.

Layout: ``<root>/<namespace>/<tt>/<text>/<digest>.json``. ``namespace`` is a digest of the LM's
identity and scoring settings (see ``WindowLanguageModelFilter.cache_namespace``; described in
``<root>/<namespace>/namespace.json``), ``text`` a digest of the example's columns. Each file (a
"blob") holds some scored pairs of one text, is written once under a temporary name and renamed into
place, and is named by the sha256 of its bytes: concurrent writers (pool workers, shards on a shared
file system) never touch each other's files, and a reader takes the union. A blob whose bytes do not
match its name (torn by a crash, damaged on disk) or whose content does not belong where it lies is
never trusted: it is reported in one line, removed, and its pairs are scored again. When a text has
gathered many blobs a reader folds them into one (written first, the old ones removed after), so a
reader opens few files; a concurrent reader that misses a removed blob only scores its pairs again.

Where: ``$TEXTATTACK_RIFT_LM_CACHE`` (a directory, or ``off``), else ``<cache root>/lm-scores`` (see
``resources.paths``). A directory the user named that cannot be written is an error before any work;
the default one falls back to no persistent cache, with one warning. A write that fails later (disk
full) switches writing off for the process, with one warning: scores are then only kept in memory.

Only the standard library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

logger = logging.getLogger("textattack_rift.attack_recipes")

CACHE_ENV = "TEXTATTACK_RIFT_LM_CACHE"
OFF = {"off", "none", "no", "false", "0", "disable", "disabled"}
FORMAT = "textattack-rift/lm-window-scores"
VERSION = 1
COMPACT_AT = 16  # blobs of one text before a reader folds them into one

Pair = tuple  # (word index, word)


def default_dir() -> Path:
    from textattack_rift.resources.paths import cache_root

    return cache_root() / "lm-scores"


def digest(obj) -> str:
    """sha256 of the canonical JSON of ``obj``."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def resolve_location(setting: str | os.PathLike | bool | None = None) -> tuple[Path | None, bool]:
    """``(directory or None for no persistent cache, whether the user chose it)`` from ``setting``
    (a path, ``False``/``"off"``, or None: ``$TEXTATTACK_RIFT_LM_CACHE``, else the default)."""
    if setting is False:
        return None, True
    if setting is None or setting is True:
        env = os.environ.get(CACHE_ENV, "").strip()
        if not env:
            return default_dir(), False
        setting = env
    text = str(setting).strip()
    if text.lower() in OFF:
        return None, True
    return Path(text).expanduser(), True


def _writable(directory: Path) -> str | None:
    """None when files can be created in ``directory`` (made if missing); else why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".probe.", dir=directory)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        return err.strerror or str(err)
    return None


class WindowScoreCache:
    """The stored scores of one namespace (one LM and its scoring settings).

    ``describe`` (JSON) is written beside the blobs, for people. Use ``open_cache`` to build one from a
    location setting.
    """

    def __init__(self, directory: Path, namespace: str, describe: Mapping | None = None, writable: bool = True):
        self.root = Path(directory)
        self.namespace = namespace
        self.directory = self.root / namespace
        self.describe = dict(describe or {})
        self.writable = writable
        self.corrupt_seen = 0
        self._described = False

    # -- keys ---------------------------------------------------------------------------------
    @staticmethod
    def text_key(columns) -> str:
        """Digest of an example's text: its columns in order (``[(name, text), ...]`` or a string)."""
        if isinstance(columns, str):
            columns = [("text", columns)]
        return digest([[str(k), str(v)] for k, v in columns])

    def _text_dir(self, key: str) -> Path:
        return self.directory / key[:2] / key

    # -- reading ------------------------------------------------------------------------------
    def load(self, key: str) -> dict:
        """``{(index, word): score}`` stored for the text ``key`` (corrupt blobs dropped, see module)."""
        folder = self._text_dir(key)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except OSError as err:
            logger.warning(f"LM score cache: cannot read {folder} ({err.strerror}); scoring afresh")
            return {}
        table: dict = {}
        read: list[Path] = []
        for name in names:
            path = folder / name
            entries = self._read_blob(path, key)
            if entries is None:
                continue
            read.append(path)
            table.update(entries)
        if self.writable and len(read) >= COMPACT_AT:
            self._compact(key, table, read)
        return table

    def _read_blob(self, path: Path, key: str) -> dict | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:  # folded away by another reader meanwhile
            return None
        except OSError as err:
            logger.warning(f"LM score cache: cannot read {path} ({err.strerror}); its scores are computed again")
            return None
        entries = None
        if hashlib.sha256(raw).hexdigest()[:40] == path.stem:
            entries = self._parse(raw, key)
        if entries is None:
            self.corrupt_seen += 1
            logger.warning(
                f"LM score cache: {path} is corrupt (its bytes do not match its checksum, or it holds another "
                "text's scores); ignored, removed, and its scores computed again"
            )
            try:
                path.unlink()
            except OSError:
                pass
        return entries

    def _parse(self, raw: bytes, key: str) -> dict | None:
        try:
            blob = json.loads(raw.decode("utf-8"))
            if blob.get("format") != FORMAT or blob.get("version") != VERSION:
                return None
            if blob.get("namespace") != self.namespace or blob.get("text") != key:
                return None
            out = {}
            for index, word, score in blob["entries"]:
                if not isinstance(index, int) or not isinstance(word, str) or not isinstance(score, float):
                    return None
                if math.isnan(score):
                    return None
                out[(index, word)] = score
            return out
        except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError):
            return None

    # -- writing ------------------------------------------------------------------------------
    def _blob(self, key: str, scores: Mapping) -> tuple[str, bytes]:
        """(file name, bytes) of a blob holding ``scores``: the name is the checksum of the bytes."""
        entries = sorted([int(i), str(w), float(s)] for (i, w), s in scores.items())
        blob = {"format": FORMAT, "version": VERSION, "namespace": self.namespace, "text": key, "entries": entries}
        raw = json.dumps(blob, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return hashlib.sha256(raw).hexdigest()[:40] + ".json", raw

    def store(self, key: str, scores: Mapping) -> str | None:
        """Add ``{(index, word): score}`` for the text ``key`` as one new blob; its file name, or None
        when nothing was written (nothing given, or writing is off)."""
        if not self.writable or not scores:
            return None
        name, raw = self._blob(key, scores)
        try:
            self._describe_once()
            self._write(self._text_dir(key), name, raw)
        except OSError as err:
            self.writable = False
            logger.warning(
                f"LM score cache: cannot write to {self.directory} ({err.strerror}); scores are kept in memory only "
                f"for the rest of this run (set {CACHE_ENV} to another directory, or to off)"
            )
            return None
        return name

    @staticmethod
    def _write(folder: Path, name: str, raw: bytes) -> None:
        target = folder / name
        if target.exists():  # the same bytes are there already
            return
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(raw)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def _compact(self, key: str, table: dict, read: Iterable[Path]) -> None:
        """Fold the blobs ``read`` (whose union is ``table``) into one: the new one is in place before
        any old one goes, so a crash in between leaves only duplicates."""
        kept = self.store(key, table)
        if kept is None:
            return
        for path in read:
            if path.name != kept:
                try:
                    path.unlink()
                except OSError:
                    pass

    def _describe_once(self) -> None:
        if self._described:
            return
        path = self.directory / "namespace.json"
        if not path.is_file():
            raw = (json.dumps({"format": FORMAT, "namespace": self.namespace, **self.describe}, indent=2, sort_keys=True) + "\n").encode()
            self._write(self.directory, "namespace.json", raw)
        self._described = True


def open_cache(setting, namespace: str, describe: Mapping | None = None) -> WindowScoreCache | None:
    """The cache at ``setting`` (see ``resolve_location``) for ``namespace``, or None when switched off
    or (the default location only) not writable. A directory the user chose that cannot be written
    raises ``RiftUserError``."""
    directory, chosen = resolve_location(setting)
    if directory is None:
        return None
    problem = _writable(directory)
    if problem is None:
        return WindowScoreCache(directory, namespace, describe)
    if chosen:
        from textattack_rift.errors import RiftUserError

        raise RiftUserError(
            f"the language-model score cache {directory} cannot be written ({problem}): set {CACHE_ENV} to a "
            f"writable directory, or to off"
        )
    logger.warning(
        f"LM score cache: {directory} cannot be written ({problem}); language-model scores are not kept between runs "
        f"(set {CACHE_ENV} to a writable directory, or to off to silence this)"
    )
    return None


def check_location(setting=None) -> None:
    """Raise ``RiftUserError`` at once when a cache directory the user chose cannot be written."""
    directory, chosen = resolve_location(setting)
    if directory is not None and chosen:
        problem = _writable(directory)
        if problem is not None:
            from textattack_rift.errors import RiftUserError

            raise RiftUserError(
                f"the language-model score cache {directory} cannot be written ({problem}): set {CACHE_ENV} to a "
                f"writable directory, or to off"
            )
