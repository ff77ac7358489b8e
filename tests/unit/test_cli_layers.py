"""The CLI's shape: each command in one module of ``nfw_blocklist.commands``, what they share below them.

``topology_replay.py`` used ``cli.py``'s private functions while ``cli.py`` imported it; no module
below the commands may import a command or the module that assembles them.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "nfw_blocklist"
ABOVE = ("nfw_blocklist.cli", "nfw_blocklist.commands")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, relative imports resolved."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.update({module, *(f"{module}.{alias.name}" for alias in node.names)})
    return found


def test_no_module_below_the_commands_imports_a_command_or_the_cli():
    below = [
        path
        for path in PACKAGE.rglob("*.py")
        if path.name != "cli.py" or path.parent != PACKAGE
        if "commands" not in path.relative_to(PACKAGE).parts
    ]
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in imported_modules(path) if m.startswith(ABOVE))
        for path in below
    }

    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_a_command_imports_no_other_command_but_its_own_parts():
    commands = sorted((PACKAGE / "commands").glob("*.py"))
    imports = {
        path.stem: sorted(
            module.removeprefix("nfw_blocklist.commands.")
            for module in imported_modules(path)
            if module.startswith("nfw_blocklist.commands.")
        )
        for path in commands
    }

    assert {name: found for name, found in imports.items() if found} == {"replay": ["replay_topology"]}
