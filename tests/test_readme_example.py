"""The README is what a new user starts from: its Python example runs as written, and every relative
link in it and in ``docs/`` leads to a file (and heading) of the repository.

The example is the first ```python block under the README's ``### Python`` heading. The test changes
only the assignments of the names in ``SIZES`` (the model and the sizes, at the top of the example) to
run it on a tiny model; every other line runs exactly as a user would run it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
EXAMPLE_HEADING = "### Python"
# The only names the test may change, with the small values it runs the example at (MODEL: the tiny model).
SIZES = {
    "MODEL": None,
    "TRAIN_SPLIT": "train[:48]",
    "EVAL_SPLIT": "validation[:16]",
    "NUM_EXAMPLES": 3,
    "MAX_LENGTH": 32,
}
METHODS = ("standard", "ascc", "rift")
README_MAX_LINES = 210  # "at most about 200 lines": the reference lives in docs/


def readme_example() -> str:
    """The first ```python block after the ``### Python`` heading of README.md."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^{re.escape(EXAMPLE_HEADING)}\s*$", text, re.M)
    assert heading, f"README.md has no {EXAMPLE_HEADING!r} heading"
    block = re.search(r"^```python\n(.*?)^```", text[heading.end():], re.M | re.S)
    assert block, f"README.md has no ```python block under {EXAMPLE_HEADING!r}"
    return block.group(1)


def with_sizes(code: str, values: dict) -> str:
    """``code`` with each ``NAME = ...`` line of ``values`` replaced; each name must be assigned once,
    at the start of a line."""
    for name, value in values.items():
        pattern = re.compile(rf"^{name} = .*$", re.M)
        found = pattern.findall(code)
        assert len(found) == 1, f"the README example must assign {name} exactly once at the top, found {found}"
        code = pattern.sub(lambda _: f"{name} = {value!r}", code)
    return code


def test_example_opens_with_the_names_a_reader_changes():
    code = readme_example()
    assert code.startswith("import textattack_rift as rift\n")
    changed = with_sizes(code, {name: "x" for name in SIZES})
    differing = [a for a, b in zip(code.splitlines(), changed.splitlines()) if a != b]
    assert len(differing) == len(SIZES)
    assert all(line.split(" = ")[0] in SIZES for line in differing)
    # the example uses the package's top-level API, as a user writes it
    for name in ("rift.train_model(", "rift.evaluate("):
        assert name in code


@pytest.mark.slow
def test_readme_example_runs_as_written_and_prints_the_table(tiny_bert_dir, offline, tmp_path, monkeypatch, capsys):
    code = with_sizes(readme_example(), {**SIZES, "MODEL": str(tiny_bert_dir)})
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{README}:{EXAMPLE_HEADING}", "exec"), {"__name__": "__main__"})
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]

    assert printed[0] == "| method | clean | rift-pwws | rift-ascc | all attacks |"
    assert set(printed[1].strip("|").split("|")) == {"---"}
    rows = {line.strip("| ").split(" | ")[0]: line.strip("| ").split(" | ")[1:] for line in printed[2:]}
    assert list(rows) == list(METHODS)
    for method, cells in rows.items():
        best = tmp_path / "runs" / "python" / method / "best_model"
        assert (best / "config.json").is_file(), f"{method}: no trained model in {best}"
        summaries = list((best / "evaluation").glob("*/summary.json"))
        assert len(summaries) == 1, summaries
        summary = json.loads(summaries[0].read_text(encoding="utf-8"))
        assert summary["num_examples"] == SIZES["NUM_EXAMPLES"]
        # the printed row is what the evaluation wrote: clean, each attack, all attacks together
        expected = [summary["all_attacks"]["clean_accuracy"],
                    summary["attacks"]["rift-pwws"]["accuracy_under_attack"],
                    summary["attacks"]["rift-ascc"]["accuracy_under_attack"],
                    summary["all_attacks"]["accuracy_under_attack"]]
        assert [float(c) for c in cells] == [round(v, 1) for v in expected]


# -- links -------------------------------------------------------------------------------------
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _links(page: Path) -> list[str]:
    text = _CODE_SPAN.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    return _LINK.findall(text)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 on repeats."""
    seen: dict[str, int] = {}
    out = set()
    for title in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def test_every_relative_link_in_readme_and_docs_resolves():
    broken = []
    for page in _pages():
        for target in _links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not checked offline
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            if not resolved.exists() or REPO_ROOT not in (resolved, *resolved.parents):
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no such file in the repository)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no heading #{anchor})")
    assert not broken, "\n".join(broken)


def test_readme_is_short_and_links_every_docs_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move reference text to docs/"
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in _links(README)}
    orphans = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not orphans, f"docs pages not linked from README.md: {orphans}"
