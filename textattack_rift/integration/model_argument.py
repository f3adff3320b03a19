"""A command's model argument checked before TextAttack or transformers load it (see resources/model_files.py)."""

from __future__ import annotations

from pathlib import Path

from textattack_rift.resources.model_files import check_model_dir


def check_model_argument(name: str | None) -> None:
    """``check_model_dir`` for a command's model argument when it names a local directory (or a
    registered model); hub ids and unknown names are left to the loader."""
    if not name:
        return
    candidates = [Path(str(name))]
    try:
        from textattack_rift.models.names import resolve_model_name

        candidates.append(Path(str(resolve_model_name(str(name)))))
    except Exception:  # not ours to resolve: TextAttack or transformers reports it
        pass
    for path in candidates:
        if path.is_dir():
            check_model_dir(path)
            return
