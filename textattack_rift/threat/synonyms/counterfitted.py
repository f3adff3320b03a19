"""The paper's synonym table: the counter-fitted neighbours of Jia et al. (2019), as released with RIFT.

Where it comes from, in order: an explicit path, ``$TEXTATTACK_RIFT_COUNTERFITTED``, the cache
(``<cache root>/synonyms/``), a download into the cache. Every copy is checked against the sha256 of
the released file, so that "counterfitted" means the same table everywhere.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
import urllib.request
from pathlib import Path

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.resources import atomic, network, paths
from textattack_rift.threat.synonyms.base import SynonymSet
from textattack_rift.threat.synonyms.table import load_table

NAME = "counterfitted"
FILENAME = "counterfitted_neighbors.json"
SHA256 = "103247143f39bd5dd66850f3a912393392641dbd98093c61e2b24a4cc8a96fb0"
# The file as released in the authors' repository (dongxinshuai/RIFT-NeurIPS2021, branch main, git blob
# 37627dc7, 1,976,448 bytes); the sha256 check still guards every copy, downloaded or not.
URL = "https://raw.githubusercontent.com/dongxinshuai/RIFT-NeurIPS2021/main/attack/counterfitted_neighbors.json"
PATH_ENV = "TEXTATTACK_RIFT_COUNTERFITTED"
DOWNLOAD_TIMEOUT_S = 60


def cache_path() -> Path:
    return paths.cache_root() / "synonyms" / FILENAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _how_to_fix() -> str:
    return (
        f"pass a local copy with --synonyms PATH or {PATH_ENV}=PATH, or put it at {cache_path()} "
        "(or use --synonyms wordnet, which needs no download)"
    )


def verify(path: Path) -> Path:
    actual = sha256_of(path)
    if actual != SHA256:
        raise RiftUserError(
            f"{path} is not the paper's counter-fitted table (sha256 {actual[:12]}..., expected {SHA256}): "
            "to use another table pass it as --synonyms PATH"
        )
    return path


def locate(path: str | os.PathLike | None = None) -> tuple[Path | None, str]:
    """Where the table is found without downloading, and how (``explicit``/``env``/``cache``)."""
    if path is not None:
        return Path(path).expanduser(), "explicit"
    env = os.environ.get(PATH_ENV, "").strip()
    if env:
        return Path(env).expanduser(), "env"
    cached = cache_path()
    if cached.is_file():
        return cached, "cache"
    return None, "missing"


def download(url: str = URL, target: Path | None = None) -> Path:
    """Fetch the table into the cache, verified before it takes its final name."""
    target = target or cache_path()
    host = urllib.parse.urlparse(url).hostname or ""
    # The offline switch is checked first: hub_reachable caches its answer for the process.
    if not host or network.offline_forced() or not network.hub_reachable(host=host):
        raise ResourceMissing(
            f"the counter-fitted synonym table ({FILENAME}, sha256 {SHA256}) is not here and {host or url} "
            f"is unreachable: {_how_to_fix()}"
        )
    try:
        with atomic.atomic_path(target) as tmp:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(tmp, "wb") as out:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
            if sha256_of(tmp) != SHA256:
                raise ResourceMissing(
                    f"the file downloaded from {url} is not the counter-fitted table (sha256 mismatch): {_how_to_fix()}"
                )
    except OSError as err:
        raise ResourceMissing(f"downloading {FILENAME} from {url} failed ({err}): {_how_to_fix()}") from None
    return target


def ensure(path: str | os.PathLike | None = None, *, allow_download: bool = True) -> Path:
    """A verified local copy of the table (downloading it into the cache if allowed and needed)."""
    found, how = locate(path)
    if found is not None:
        if not found.is_file():
            origin = f"${PATH_ENV}" if how == "env" else "the given path"
            raise ResourceMissing(f"counter-fitted table {found} ({origin}) not found: {_how_to_fix()}")
        return verify(found)
    if not allow_download:
        raise ResourceMissing(f"the counter-fitted synonym table ({FILENAME}) is not downloaded yet: {_how_to_fix()}")
    return download()


def load(path: str | os.PathLike | None = None, *, allow_download: bool = True) -> SynonymSet:
    return load_table(ensure(path, allow_download=allow_download), name=NAME, spec=NAME)


def describe() -> dict:
    """For ``doctor``: never downloads."""
    found, how = locate()
    info = {"name": NAME, "available": False, "size": None, "where": str(found or cache_path())}
    try:
        synonyms = load(found, allow_download=False)
    except RiftUserError as err:
        info["reason"] = str(err)
        if found is None:
            info["reason"] = f"not downloaded; the first use downloads it from {URL} (or {_how_to_fix()})"
        return info
    info.update(available=True, size=len(synonyms), fingerprint=synonyms.fingerprint, how=how)
    return info
