"""The package's import graph has no cycles, lazy imports (inside functions) included.

Edges are read from the source with ``ast``: ``import a.b`` and ``from a.b import c`` add an
edge to ``a.b.c`` when that is a module of ours, else to ``a.b``. Parent packages imported
implicitly by Python are not edges (as import-linter counts them), so a cycle here is one a
reader of the code would see. Imports under ``if TYPE_CHECKING:`` are not edges: they never
run (import-linter's ``exclude_type_checking_imports``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlflow_trace_nb

PACKAGE = Path(mlflow_trace_nb.__file__).parent
#: Modules allowed to import the whole public face: none of the package imports them back.
TOP = "mlflow_trace_nb"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path.name == "__init__.py", node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                targets = [node.args[0].value]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
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
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _edges_within(graph: dict[str, set[str]], cycle: list[str]) -> list[str]:
    members = set(cycle)
    return [f"{a} -> {b}" for a in cycle for b in sorted(graph[a]) if b in members]


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    cycles = find_cycles(graph)
    report = "\n\n".join("\n".join(_edges_within(graph, c)) for c in cycles)
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def test_the_checker_sees_a_cycle_through_a_lazy_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_an_import_inside_a_function_is_an_edge() -> None:
    # span_leaks is imported by the tracer only inside functions (it imports the runtime)
    graph = import_graph()
    lazy = [
        (module, target)
        for module, path in _modules().items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.ImportFrom)
        and inner.level == 0
        and (target := inner.module or "") in graph
    ]
    assert lazy, "the package has no lazy import to check"
    for module, target in lazy:
        assert target in graph[module] or any(t.startswith(target + ".") for t in graph[module]), (
            module,
            target,
        )


def test_type_checking_imports_are_not_edges() -> None:
    # compare_html names compare's dataclasses only for mypy; compare draws with compare_html
    graph = import_graph()
    assert "mlflow_trace_nb.display.compare_html" in graph["mlflow_trace_nb._internal.compare"]
    assert "mlflow_trace_nb._internal.compare" not in graph["mlflow_trace_nb.display.compare_html"]


def test_nothing_under_the_package_imports_its_public_face() -> None:
    graph = import_graph()
    importers = sorted(m for m, deps in graph.items() if TOP in deps and m != TOP)
    assert importers == [], importers


def test_modules_stay_small() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
