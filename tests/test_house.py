"""The house rules that a reader checks by eye, checked by a walk over the package's import statements
(module-level and inside functions alike): no two modules import each other, directly or round a
circle, and nothing outside ``integration/`` imports ``integration/``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "textattack_rift"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
# ``python -m textattack_rift`` is an entry point, as the console scripts are.
ENTRY_POINTS = {f"{PACKAGE}.__main__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _lazy_table(tree: ast.Module) -> dict[str, str]:
    """A package's ``_LAZY = {name: module}`` table (names it exports without importing them)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_LAZY" for t in node.targets):
            try:
                return dict(ast.literal_eval(node.value))
            except ValueError:
                return {}
    return {}


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules its import statements name (a name imported from a package
    counts as its submodule when it is one, or as the module a lazy table says defines it)."""
    modules = _modules()
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in modules.items()}
    lazy = {name: _lazy_table(tree) for name, tree in trees.items()}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in trees.items():
        is_package = modules[name].name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = []
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:
                        targets.append(sub)
                    elif alias.name in lazy.get(base, {}):
                        targets.append(lazy[base][alias.name])
                    else:
                        targets.append(base)
            else:
                continue
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_function_level_and_lazy_imports():
    graph = import_graph()
    # function-level: register() imports the recipes inside its body
    assert "textattack_rift.attack_recipes" in graph["textattack_rift.integration.register"]
    # a name from a package with a lazy table counts as its defining module
    assert "textattack_rift.threat.threat_model" in graph["textattack_rift.integration.threat_args"]
    # and the cycle finder finds a planted circle
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_between_modules():
    found = cycles(import_graph())
    assert not found, "modules importing each other in a circle: " + "; ".join(" <-> ".join(c) for c in found)


def test_nothing_outside_integration_imports_integration():
    inside = f"{PACKAGE}.integration"
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if not (module == inside or module.startswith(inside + ".") or module in ENTRY_POINTS)
        for target in targets
        if target == inside or target.startswith(inside + ".")
    )
    assert not offenders, offenders
