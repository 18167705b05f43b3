"""The product's code as a whole: its modules import each other without a circle (module-level
and function-level imports alike: a function-level import only defers a heavy module, it never
hides a circle), no two classes share a name (one name, one concept), the status order is
spelled once (warehouse/status.py), and a module over 600 lines says why."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from test_shape import PRODUCT, REPO

from warehouse.status import STATUS_ORDER

# Classes that share a name on purpose, with why.
SHARED_CLASS_NAMES: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _product_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PRODUCT
        for path in sorted((REPO / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the imports under `if TYPE_CHECKING:` (never run, so never part of a circle)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return skipped


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The product modules `name` imports anywhere in its code (the deepest module named:
    `from a.b import c` is a.b.c when c is a module, else a.b)."""
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle_in(graph, set(group)) for group in groups]


def _circle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest circle from the group's first module back to itself, for the message."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    return sorted(group)


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_product() -> None:
    modules = _product_modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert sum(len(edges) for edges in graph.values()) > 100  # the graph was really built
    circles = _cycles(graph)
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_no_two_product_classes_share_a_name() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for name, path in _product_modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(name)
    shared = {
        cls: mods for cls, mods in where.items() if len(mods) > 1 and cls not in SHARED_CLASS_NAMES
    }
    assert not shared, "class names used for more than one class:\n" + "\n".join(
        f"{cls}: {', '.join(mods)}" for cls, mods in sorted(shared.items())
    )


def test_the_status_order_is_spelled_only_in_warehouse_status() -> None:
    """Reports, queries and SQL models rank statuses through warehouse/status.py; a line naming
    three or more statuses is an order spelled again (labels and colours name one a line)."""

    spelled = []
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*")):
            if path.suffix not in (".py", ".sql") or path == REPO / "warehouse" / "status.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if sum(f"'{s}'" in line or f'"{s}"' in line for s in STATUS_ORDER) >= 3:
                    spelled.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not spelled, "status order spelled outside warehouse/status.py:\n" + "\n".join(spelled)


def test_a_module_over_600_lines_says_why_in_its_docstring() -> None:
    """Sandboxes aside (fake servers with their data), a long module gives its reason."""
    long = []
    for name, path in _product_modules().items():
        if name.startswith("sandbox.") or len(path.read_text().splitlines()) <= 600:
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if "600 lines" not in docstring:
            long.append(name)
    assert not long, f"over 600 lines without a reason in the docstring: {long}"
