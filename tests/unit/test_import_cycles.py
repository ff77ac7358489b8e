"""No module of the product imports itself back, directly or through others.

The graph is read from the source with ``ast``: every import statement that runs (at module level or
inside a function: an import hidden in a constructor still closes a cycle, it only moves the failure to
run time), but not one under ``if TYPE_CHECKING:``, which never runs. A cycle makes the import order
matter and hides which module is the lower one; the fix is to move the shared piece below both.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("components", "handlers", "nfw_blocklist")
"""The packages checked: the whole product."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (imp for child in node.orelse for imp in _runtime_imports_of(child))
            continue
        yield from _runtime_imports_of(node)


def _runtime_imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _runtime_imports(node)


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The product modules ``name`` imports (``from package import module`` names the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        found.update(target for target in targets if target in known and target != name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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


def test_no_module_of_the_product_imports_in_a_cycle() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({"a": "import pkg.b\n", "b": "def f():\n    import pkg.a\n"}, [["a", "b"]]),
        ({"a": "from . import b\n", "b": "from .a import x\n"}, [["a", "b"]]),
        ({"a": "from pkg import b\n", "b": "from pkg.a import x\n"}, [["a", "b"]]),
        (
            {
                "a": "import pkg.b\n",
                "b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n",
            },
            [],
        ),
        ({"a": "import pkg.b\n", "b": "import pkg.c\n", "c": "x = 1\n"}, []),
    ],
)
def test_the_check_finds_a_cycle_through_any_runtime_import(
    tmp_path: Path, sources: dict[str, str], expected: list[list[str]]
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    for name, text in sources.items():
        (package / f"{name}.py").write_text(text)
    modules = {f"pkg.{name}": package / f"{name}.py" for name in sources}
    graph = {name: imported_modules(name, path, set(modules)) for name, path in modules.items()}
    assert cycles(graph) == [[f"pkg.{member}" for member in cycle] for cycle in expected]
