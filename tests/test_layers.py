"""Layers without circles: no module of `admin_app` imports itself back, however far round.

The import graph is read from the source with `ast`; nothing is imported. It counts every
`import admin_app...` and `from admin_app... import ...` (relative ones too), at module
level or inside a function, and also those under `if TYPE_CHECKING:`: a circle that only
the type checker follows is still a circle for whoever reads the code, and two of the
circles this test was written against were closed by such an import. `from package
import name` counts as an import of the module `package.name` when there is one, else of
the package's `__init__`.

One exception: mapped classes that are related both ways (`Customer.orders`,
`Order.customer`) import each other under `TYPE_CHECKING` to annotate the relationship,
which SQLAlchemy resolves by name at run time. `models/` is one entity graph, imported
whole by its `__init__`, so those annotation-only imports between two of its modules are
not counted; any other import between them still is.
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import admin_app

PACKAGE_ROOT = Path(admin_app.__file__).parent
MODELS = "admin_app.models."


@dataclass(frozen=True)
class Arrow:
    """One module's imports of another: the first line, and whether all are for typing."""

    line: int
    type_only: bool


Graph = dict[str, dict[str, Arrow]]
"""Importer -> {imported module: its arrow}."""


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    node: ast.AST, type_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in `node`, however deep, and whether it is for typing only."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, type_only
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for inner in child.body:
                yield from _imports(ast.Module([inner], []), True)
            for inner in child.orelse:
                yield from _imports(ast.Module([inner], []), type_only)
        else:
            yield from _imports(child, type_only)


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = importer.split(".") if is_package else importer.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def _known(name: str, modules: set[str]) -> str | None:
    """`name`, or the nearest package above it, if it is a module of the tree."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path) -> Graph:
    """Which module of the package at `root` imports which other, from the source."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(paths)
    graph: Graph = {}
    for importer, path in paths.items():
        edges = graph.setdefault(importer, {})
        for node, type_only in _imports(ast.parse(path.read_text(), str(path))):
            names = _targets(node, importer, path.name == "__init__.py")
            if isinstance(node, ast.ImportFrom):
                # `from pkg import module` imports the module; `from pkg import name`, pkg.
                found = [n for n in names[:-1] if n in modules] or [names[-1]]
            else:
                found = names
            for name in found:
                target = _known(name, modules)
                if target is None or target == importer:
                    continue
                seen = edges.get(target)
                if seen is None:
                    edges[target] = Arrow(node.lineno, type_only)
                elif seen.type_only and not type_only:
                    edges[target] = Arrow(node.lineno, False)
    return graph


def counted(graph: Graph) -> Graph:
    """`graph` without the relationship annotations between two models (see above)."""
    return {
        importer: {
            target: arrow
            for target, arrow in edges.items()
            if not (arrow.type_only and importer.startswith(MODELS) and target.startswith(MODELS))
        }
        for importer, edges in graph.items()
    }


def _strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that can each reach all the others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [group for group in groups if len(group) > 1]


def _shortest_circle(graph: Graph, group: list[str]) -> list[str]:
    """One shortest way from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt in members and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"{group} is strongly connected, so a circle must exist")


def circles(graph: Graph) -> list[list[str]]:
    """One circle per group of modules that import each other, as [a, b, ..., a]."""
    return [_shortest_circle(graph, group) for group in _strongly_connected(graph)]


def describe(graph: Graph, circle: list[str], group: list[str]) -> str:
    steps = [
        f"{a} (line {graph[a][b].line}{', for typing' if graph[a][b].type_only else ''}) -> {b}"
        for a, b in itertools.pairwise(circle)
    ]
    return f"{len(group)} modules ({', '.join(group)}), for example:\n    " + "\n    ".join(steps)


def test_no_module_of_the_app_imports_itself_back():
    graph = counted(import_graph(PACKAGE_ROOT))
    groups = _strongly_connected(graph)
    found = [describe(graph, _shortest_circle(graph, g), g) for g in groups]
    assert not found, "import circles in admin_app:\n  " + "\n  ".join(found)


def test_the_graph_reads_the_whole_app():
    graph = import_graph(PACKAGE_ROOT)
    assert len(graph) > 100, f"only {len(graph)} modules found under {PACKAGE_ROOT}"
    assert "admin_app.admin.site" in graph["admin_app.main"], "main builds the admin site"
    assert "admin_app.settings" in graph["admin_app.db"]


def test_state_is_a_leaf_that_knows_only_the_settings():
    """`state` is imported everywhere: it must not pull the services in with it."""
    imported = set(import_graph(PACKAGE_ROOT)["admin_app.state"])
    assert imported <= {"admin_app.settings"}, f"admin_app.state imports {sorted(imported)}"


def test_the_database_layer_does_not_import_the_audit_log():
    """The audit recorder is hooked on at start-up, by whoever writes (app, CLI)."""
    imported = set(import_graph(PACKAGE_ROOT)["admin_app.db"])
    upward = {m for m in imported if m.startswith(("admin_app.audit", "admin_app.models"))}
    assert not upward, f"admin_app.db imports {sorted(upward)}"


def test_auth_and_middleware_do_not_import_each_other():
    graph = import_graph(PACKAGE_ROOT)
    crossing = [
        f"{a} -> {b}"
        for a, imported in graph.items()
        for b in imported
        for one, other in (("auth", "middleware"), ("middleware", "auth"))
        if a.startswith(f"admin_app.{one}.") and b.startswith(f"admin_app.{other}")
    ]
    assert not crossing, "auth and middleware import each other: " + ", ".join(crossing)


LIST_ENGINE = PACKAGE_ROOT / "admin" / "lists"
LIST_ENGINE_MAX_LINES = 2_000


def test_the_list_engine_stays_one_package_a_newcomer_can_read():
    """Issue 20: one list request once ran through about 5,400 lines in 29 files, on up to
    four paths chosen at run time, and a speed trick broke five list pages unnoticed.
    The engine is now one package with one path; growing it past the limit means a new
    path or a special case: simplify, or give the new part its own reason to exist."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in LIST_ENGINE.rglob("*.py")}
    assert {"routes.py", "query.py", "rows.py", "columns.py"} <= set(sizes), sorted(sizes)
    total = sum(sizes.values())
    assert total <= LIST_ENGINE_MAX_LINES, (
        f"admin_app/admin/lists/ is {total:,} lines (at most {LIST_ENGINE_MAX_LINES:,}): "
        + ", ".join(f"{name} {n}" for name, n in sorted(sizes.items()))
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / Path(next(iter(files))).parts[0]


def test_every_kind_of_import_is_an_arrow(tmp_path):
    root = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/top.py": "import pkg.leaf\n",
            "pkg/late.py": "def f():\n    from pkg import leaf\n",
            "pkg/typed.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.leaf import X\n"
            ),
            "pkg/relative.py": "from .leaf import X\n",
            "pkg/name.py": "from pkg import X\n",
            "pkg/outside.py": "import os\nfrom json import dumps\n",
            "pkg/leaf.py": "X = 1\n",
        },
    )
    graph = import_graph(root)
    for importer in ("top", "late", "typed", "relative"):
        assert set(graph[f"pkg.{importer}"]) == {"pkg.leaf"}, f"pkg.{importer}: {graph}"
    assert graph["pkg.typed"]["pkg.leaf"] == Arrow(3, type_only=True)
    assert graph["pkg.late"]["pkg.leaf"] == Arrow(2, type_only=False)
    assert set(graph["pkg.name"]) == {"pkg"}, "a name from a package is its __init__'s"
    assert graph["pkg.outside"] == {}, "other packages are not part of the graph"
    assert circles(graph) == []


def test_a_circle_is_found_and_named_however_far_round(tmp_path):
    root = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import B\n",
            "pkg/b.py": "def f():\n    import pkg.c\n",
            "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
            "pkg/d.py": "import pkg.a\n",
        },
    )
    graph = import_graph(root)
    (circle,) = circles(graph)
    assert circle == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    named = describe(graph, circle, ["pkg.a", "pkg.b", "pkg.c"])
    assert "pkg.b (line 2) -> pkg.c" in named
    assert "pkg.c (line 3, for typing) -> pkg.a" in named


def test_only_annotations_between_two_models_are_let_through(tmp_path):
    typed = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from {} import X\n"
    root = write(
        tmp_path,
        {
            "admin_app/__init__.py": "",
            "admin_app/models/__init__.py": "",
            "admin_app/models/customer.py": typed.format("admin_app.models.order"),
            "admin_app/models/order.py": "import admin_app.models.customer\nimport admin_app.log\n",
            "admin_app/log.py": typed.format("admin_app.models.order"),
        },
    )
    assert circles(counted(import_graph(root))) == [
        ["admin_app.log", "admin_app.models.order", "admin_app.log"]
    ], "an annotation from outside models/ still closes a circle"
