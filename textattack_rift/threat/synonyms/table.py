"""A synonym table read from a JSON file: ``{"word": ["synonym", ...], ...}`` (the counter-fitted format)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.threat.synonyms.base import SynonymSet


def read_table(path: str | os.PathLike) -> dict:
    """Parse the file; a missing, unreadable or non-JSON file is a one-line user error."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ResourceMissing(
            f"synonym table {path} not found: give an existing JSON file mapping each word to a list of synonyms"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RiftUserError(f"synonym table {path} cannot be read as UTF-8 text ({err}): is it a JSON file?") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise RiftUserError(
            f"synonym table {path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}): "
            "expected an object mapping each word to a list of synonyms"
        ) from None


def load_table(path: str | os.PathLike, *, name: str | None = None, spec: str | None = None, settings=None) -> SynonymSet:
    """A :class:`SynonymSet` from a JSON table; its name defaults to the file's stem."""
    path = Path(path).expanduser()
    raw = read_table(path)
    return SynonymSet(
        name or path.stem,
        raw,
        spec=spec if spec is not None else str(path.resolve()),
        settings=settings,
        source=str(path),
    )
