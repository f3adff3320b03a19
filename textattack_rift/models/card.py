"""The model card (``README.md``) of a trained model directory, in Hugging Face's format.

The card has YAML front matter (library, tags, datasets, base model, and under ``textattack_rift`` the
method, base model and dataset that the registry names a model by) and sections that textattack-rift
owns, each between ``<!-- textattack-rift:NAME -->`` and ``<!-- /textattack-rift:NAME -->``: the
header, how the model was trained, its threat model, and its robustness (one block per evaluation, so
evaluating on a second split adds a block instead of replacing the first). Every call rewrites only
the sections it is given; anything else in the file (a user's notes, TextAttack's own README text) is
kept after our sections.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Mapping

from textattack_rift.resources import atomic

FILENAME = "README.md"
TAGS = ["textattack", "rift", "adversarial-robustness", "text-classification"]
_SECTIONS = ("header", "training", "threat-model", "robustness")
_BLOCK = re.compile(r"<!-- textattack-rift:([\w./-]+) -->\n(.*?)\n?<!-- /textattack-rift:\1 -->\n?", re.DOTALL)
_FRONT = re.compile(r"\A---\n(.*?)\n---\n?", re.DOTALL)

# training dict key -> label, in the order shown; other keys follow under their own names
TRAINING_LABELS = {
    "method": "method",
    "base_model": "base model",
    "dataset": "dataset",
    "train_split": "training split",
    "eval_split": "validation split",
    "num_train_examples": "training examples",
    "epochs": "epochs",
    "batch_size": "batch size",
    "learning_rate": "learning rate",
    "max_length": "max length (tokens)",
    "seed": "seed",
    "training_seconds": "training time",
}
_TABLE_KEYS = {"rift_args": "RIFT arguments", "validation": "Validation metrics"}
# front-matter key holding what the registry reads back (method, base model, dataset)
FACTS_KEY = "textattack_rift"
_ROW = re.compile(r"^\|(.*)\|\s*$")


def _begin(name: str) -> str:
    return f"<!-- textattack-rift:{name} -->"


def _end(name: str) -> str:
    return f"<!-- /textattack-rift:{name} -->"


def _block(name: str, body: str) -> str:
    return f"{_begin(name)}\n{body.strip()}\n{_end(name)}\n"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, Mapping):
        return "`" + json.dumps(value, sort_keys=True, default=str) + "`"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _seconds(value) -> str:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return _fmt(value)
    return f"{seconds:.1f} s ({seconds / 60:.1f} min)" if seconds >= 60 else f"{seconds:.1f} s"


def _table(rows, head=("setting", "value")) -> str:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def render_training(training: Mapping) -> str:
    """The "Training" section from the trainer's dict (known keys first, then the rest)."""
    rows = []
    for key, label in TRAINING_LABELS.items():
        if training.get(key) is not None:
            if key == "training_seconds":
                shown = _seconds(training[key])
            elif key == "base_model" and _base_model_id(training[key]) not in (None, str(training[key])):
                shown = f"{_base_model_id(training[key])} (local copy {training[key]})"
            else:
                shown = _fmt(training[key])
            rows.append((label, shown))
    for key, value in training.items():
        if key not in TRAINING_LABELS and key not in _TABLE_KEYS and value is not None:
            rows.append((key.replace("_", " "), _fmt(value)))
    parts = ["## Training", "", _table(rows)]
    for key, title in _TABLE_KEYS.items():
        value = training.get(key)
        if isinstance(value, Mapping) and value:
            head = ("argument", "value") if key == "rift_args" else ("metric", "value")
            parts += ["", f"**{title}**", "", _table([(k, _fmt(v)) for k, v in value.items()], head)]
    return "\n".join(parts)


def render_threat_model(threat_model) -> str:
    """The "Threat model" section from a ``ThreatModel`` (or its ``to_dict()``)."""
    if isinstance(threat_model, Mapping):
        from textattack_rift.threat import ThreatModel

        threat_model = ThreatModel.from_dict(threat_model)
    lines = [
        "## Threat model",
        "",
        "Each word may be swapped for one of its synonyms, in any combination, under these constraints "
        "(RIFT trains against it, and evaluations use it unless told otherwise):",
        "",
        f"- `{threat_model.describe()}`",
        f"- fingerprint `{threat_model.fingerprint}`",
        "",
        "It is saved beside the model as `threat_model.json`; `textattack_rift.ThreatModel.load(<this directory>)` "
        "rebuilds it.",
    ]
    return "\n".join(lines)


def _header(title: str, name: str | None) -> str:
    target = name or "<this directory>"
    return "\n".join(
        [
            f"# {title}",
            "",
            "A sequence classifier fine-tuned with textattack-rift, a TextAttack extension implementing RIFT "
            "(Dong et al., NeurIPS 2021). It loads like any Hugging Face model "
            "(`AutoModelForSequenceClassification.from_pretrained`), as `textattack_rift.load_model(\"" + target + "\")`, "
            f"and in TextAttack as `textattack attack --model {target} ...`.",
        ]
    )


def _parse(text: str) -> tuple[dict, dict[str, str], str]:
    """(front matter, our blocks by name, everything else)."""
    import yaml

    front: dict = {}
    match = _FRONT.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
            front = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError:
            front = {}
        text = text[match.end():]
    blocks = {m.group(1): m.group(2) for m in _BLOCK.finditer(text)}
    rest = _BLOCK.sub("", text).strip()
    return front, blocks, rest


def _base_model_id(base_model) -> str | None:
    """A hub id for the front matter: the packaged MiniLM directory maps to its hub id; other paths are omitted."""
    if not base_model:
        return None
    base = str(base_model)
    if os.path.isdir(base):
        from textattack_rift.resources import bundled

        packaged = bundled.packaged_minilm_dir()
        if packaged is not None and Path(base).resolve() == Path(packaged).resolve():
            return bundled.MINILM_HUB_ID
        return None
    from textattack_rift.resources.hub_models import hub_id_for

    return hub_id_for(base)


def _front_matter(front: dict, training: Mapping | None) -> dict:
    front = dict(front)
    front["library_name"] = "transformers"
    front["pipeline_tag"] = front.get("pipeline_tag") or "text-classification"
    tags = list(front.get("tags") or [])
    front["tags"] = tags + [t for t in TAGS if t not in tags]
    if training:
        dataset = training.get("dataset")
        if dataset and not str(dataset).lower().endswith((".csv", ".tsv", ".jsonl", ".json")):
            front["datasets"] = [str(dataset).split("^", 1)[0]]
        base = _base_model_id(training.get("base_model"))
        if base:
            front["base_model"] = base
        facts = {
            "method": training.get("method"),
            "base_model": base or (str(training["base_model"]) if training.get("base_model") else None),
            "dataset": str(dataset) if dataset else None,
        }
        front[FACTS_KEY] = {k: v for k, v in facts.items() if v is not None}
    return front


def _robustness(existing: str | None, key: str | None, markdown: str) -> str:
    """The robustness section with the block ``key`` replaced or added (no key: the whole section)."""
    if key is None:
        body = markdown.strip()
        return body if body.startswith("## ") else "## Robustness\n\n" + body
    sub = f"robustness/{key}"
    blocks = {m.group(1): m.group(2) for m in _BLOCK.finditer(existing or "")}
    blocks[sub] = markdown.strip()
    ordered = [k for k in blocks if k.startswith("robustness/")]
    return "## Robustness\n\n" + "\n".join(_block(k, blocks[k]) for k in ordered)


def write_model_card(
    directory: str | os.PathLike,
    *,
    training: Mapping | None = None,
    threat_model=None,
    robustness_markdown: str | None = None,
    robustness_key: str | None = None,
    name: str | None = None,
) -> Path:
    """Write or update ``<directory>/README.md``; sections not given keep their current text.

    ``robustness_key`` names one evaluation (e.g. ``rotten_tomatoes-test-n100-seed0``): its block is
    replaced in place and other evaluations' blocks stay. Without a key the whole section is replaced.
    Returns the card's path.
    """
    import yaml

    directory = Path(directory)
    path = directory / FILENAME
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    front, blocks, rest = _parse(old)
    if not blocks and rest:
        rest = "## Notes kept from the previous README\n\n" + rest
    if name is None:
        name = _registered_name(directory)
    if training is not None or "header" not in blocks or name:
        blocks["header"] = _header(name or directory.name, name)
    if training is not None:
        blocks["training"] = render_training(training)
    if threat_model is None and "threat-model" not in blocks and (directory / "threat_model.json").is_file():
        try:
            from textattack_rift.threat import ThreatModel

            threat_model = ThreatModel.load(directory)
        except Exception:  # a card is documentation: an unreadable threat model must not stop it
            threat_model = None
    if threat_model is not None:
        blocks["threat-model"] = render_threat_model(threat_model)
    if robustness_markdown is not None:
        blocks["robustness"] = _robustness(blocks.get("robustness"), robustness_key, robustness_markdown)
    front = _front_matter(front, training)
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip() + "\n---\n\n"
    text += "\n".join(_block(k, blocks[k]) for k in _SECTIONS if k in blocks)
    if rest:
        text += "\n" + rest.strip() + "\n"
    atomic.write_text(path, text)
    return path


def _registered_name(directory: Path) -> str | None:
    """The name the registry knows this directory by (not an alias; the newest), if any."""
    try:
        from textattack_rift.models.registry_store import names_for_directory

        names = names_for_directory(directory)
    except Exception:  # an unreadable registry must not stop a card
        return None
    return names[-1] if names else None


# -- reading a card back ---------------------------------------------------------------------------
def _read_card(directory: str | os.PathLike) -> tuple[dict, dict[str, str]]:
    try:
        text = (Path(directory) / FILENAME).read_text(encoding="utf-8")
    except OSError:
        return {}, {}
    front, blocks, _ = _parse(text)
    return front, blocks


def _table_cells(body: str) -> list[list[str]]:
    """The cells of each Markdown table row in ``body`` (separator rows dropped)."""
    rows = []
    for line in body.splitlines():
        match = _ROW.match(line.strip())
        if match:
            cells = [cell.strip() for cell in match.group(1).split("|")]
            if not all(set(cell) <= set("-:") for cell in cells):
                rows.append(cells)
    return rows


def card_facts(directory: str | os.PathLike) -> dict:
    """How the model in ``directory`` was made, as its card records it: ``method``, ``base_model``,
    ``dataset`` (a key is missing when the card does not say; no card gives ``{}``). Cards written
    before the facts were kept in the front matter give the method and dataset from their training table."""
    front, blocks = _read_card(directory)
    facts = front.get(FACTS_KEY)
    facts = {k: v for k, v in facts.items() if v is not None} if isinstance(facts, Mapping) else {}
    if "training" in blocks:
        rows = {cells[0]: cells[1] for cells in _table_cells(blocks["training"]) if len(cells) >= 2}
        for key in ("method", "dataset"):
            if key not in facts and rows.get(TRAINING_LABELS[key]):
                facts[key] = rows[TRAINING_LABELS[key]]
    if "base_model" not in facts and front.get("base_model"):
        facts["base_model"] = front["base_model"]
    return facts


def robustness_results(directory: str | os.PathLike) -> list[dict]:
    """Each evaluation block of the card, in card order: ``key``, ``title``, ``attacks`` (names), and
    over all attacks together ``examples``, ``clean_accuracy`` and ``accuracy_under_attack`` (as shown,
    e.g. ``"52.0% [42.3, 61.5]"``). Columns are found by their heading, so added columns do not matter."""
    _, blocks = _read_card(directory)
    out = []
    for match in _BLOCK.finditer(blocks.get("robustness", "")):
        key, body = match.group(1), match.group(2)
        rows = _table_cells(body)
        if not key.startswith("robustness/") or not rows:
            continue
        heads = [h.lower() for h in rows[0]]

        def column(prefix: str) -> int | None:
            return next((i for i, h in enumerate(heads) if h.startswith(prefix)), None)

        wanted = {"examples": column("examples"), "clean_accuracy": column("clean accuracy"),
                  "accuracy_under_attack": column("accuracy under attack")}
        everything = next((r for r in rows[1:] if r[0].strip("* ") == "all attacks"), None)
        if everything is None or None in wanted.values() or max(wanted.values()) >= len(everything):
            continue
        title = next((line[4:].strip() for line in body.splitlines() if line.startswith("### ")), None)
        out.append({
            "key": key.split("/", 1)[1],
            "title": title,
            "attacks": [r[0] for r in rows[1:] if r is not everything],
            **{name: everything[i].strip("* ") for name, i in wanted.items()},
        })
    return out
