"""What `make install` (and so CI) and `make demo` install: exactly the versions tested, and for the demo
only what it runs."""

import ast
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PROJECT = "nfw-blocklist"
SANDBOX_SOURCES = ("__main__.py", "components", "handlers", "nfw_blocklist")
"""The code `nfw-blocklist demo` and the sandbox commands run; the bench (`make bench`) and the dashboard
drawing (`make dashboard-png`) install everything."""
NOT_SANDBOX = ("nfw_blocklist/bench", "nfw_blocklist/dashboard_png.py")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _project_requirements(extras: frozenset[str]) -> list[Requirement]:
    project = _pyproject()
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _closure(extras: set[str]) -> dict[str, list[Requirement]]:
    """Every distribution installing the project with these extras pulls in, with the requirements on it
    (from pyproject.toml for the project, the installed metadata for the rest)."""
    found: dict[str, list[Requirement]] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(PROJECT, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        if (canonicalize_name(name), wanted) in seen:
            continue
        seen.add((canonicalize_name(name), wanted))
        if canonicalize_name(name) == PROJECT:
            requirements = _project_requirements(wanted)
        else:
            requirements = [
                requirement
                for requirement in map(Requirement, importlib.metadata.requires(name) or [])
                if requirement.marker is None
                or any(requirement.marker.evaluate({"extra": extra}) for extra in (wanted or {""}))
            ]
        for requirement in requirements:
            if canonicalize_name(requirement.name) != PROJECT:
                found.setdefault(canonicalize_name(requirement.name), []).append(requirement)
            todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def _constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(requirement.name)] = Version(spec.version)
    return pins


def test_the_constraints_pin_every_distribution_the_full_install_needs_within_the_ranges():
    pins = _constraints()
    needed = _closure({"dev", "bench"})
    assert sorted(set(needed) - set(pins)) == [], "a new dependency: run `make lock`, then `make test`"
    outside = [
        f"{name}=={pins[name]} is outside {requirement}"
        for name, requirements in needed.items()
        for requirement in requirements
        if not requirement.specifier.contains(pins[name], prereleases=True)
    ]
    assert outside == []
    assert PROJECT not in pins


def _make_dry_run(target: str) -> list[str]:
    """The commands `make TARGET` runs from scratch (-B: as on a fresh clone), without running them."""
    result = subprocess.run(
        ["make", "-n", "-B", target], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.splitlines()


pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _project_installs(target: str) -> list[str]:
    return [line for line in _make_dry_run(target) if "pip install" in line and " -e " in line]


def test_make_install_installs_the_project_with_the_constraints():
    (install,) = _project_installs("install")
    assert "-c constraints.txt" in install
    assert "'.[dev,bench]'" in install


def test_make_demo_installs_only_the_sandbox_with_the_constraints():
    (install,) = _project_installs("demo")
    assert "-c constraints.txt" in install
    assert install.endswith("-e '.[sandbox]'")


def _third_party_imports() -> set[str]:
    local = {"components", "handlers", "nfw_blocklist", "__main__"}
    modules: set[str] = set()
    for source in SANDBOX_SOURCES:
        root = REPO / source
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            if str(path.relative_to(REPO)).startswith(NOT_SANDBOX):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return {module for module in modules if module not in local and module not in sys.stdlib_module_names}


def test_the_sandbox_extra_provides_everything_the_sandbox_imports():
    distributions = importlib.metadata.packages_distributions()
    sandbox = set(_closure({"sandbox"}))
    missing = sorted(
        module
        for module in _third_party_imports()
        if not {canonicalize_name(d) for d in distributions.get(module, [module])} & sandbox
    )
    assert missing == []


def test_the_sandbox_extra_leaves_out_the_test_and_plotting_tools():
    sandbox = set(_closure({"sandbox"}))
    assert not sandbox & {"pytest", "hypothesis", "mypy", "ruff", "matplotlib", "boto3-stubs"}
