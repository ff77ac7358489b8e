"""The component package: its name, its version (the Python package's), its components and its schema.

``provider/__main__.py`` hosts the components with Pulumi's component provider; ``pulumi package add``
asks it for the schema, which Pulumi infers from the Args TypedDicts and the components' annotated
outputs (``pulumi.provider.experimental.analyzer``). ``package_schema`` runs that same analysis without
the CLI: ``make schema`` writes it to ``provider/schema.json`` and a test compares the two, so an API
change is always deliberate.
"""

import importlib.metadata
import json
import sys
import tomllib
from pathlib import Path
from typing import Any, Final

import pulumi
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from components.constants import TOKEN_PREFIX

PACKAGE_NAME: Final = TOKEN_PREFIX.split(":")[0]
"""``nfw-blocklist``: the package's name, and the first part of every component's type token."""
REPOSITORY: Final = Path(__file__).resolve().parent.parent
SCHEMA_PATH: Final = REPOSITORY / "provider" / "schema.json"


def version() -> str:
    """The Python package's version: ``pyproject.toml`` in a checkout (a git tag or a local path), else
    the installed distribution's metadata."""
    pyproject = REPOSITORY / "pyproject.toml"
    if pyproject.is_file():
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    return importlib.metadata.version(PACKAGE_NAME)


def component_types() -> list[type[pulumi.ComponentResource]]:
    """Every component of the package, in the order the schema lists them."""
    from components.dns_firewall import DnsFirewall
    from components.forwarder import FindingForwarder
    from components.monitoring import Monitoring
    from components.pruning import PruningSchedule
    from components.response import ResponseStateMachine
    from components.rule_group import BlocklistRuleGroup

    return [
        BlocklistRuleGroup,
        DnsFirewall,
        ResponseStateMachine,
        PruningSchedule,
        Monitoring,
        FindingForwarder,
    ]


def package_schema() -> dict[str, Any]:
    """The schema ``pulumi package add`` gets from the provider, as a JSON document."""
    analysis = Analyzer(PACKAGE_NAME).analyze(component_types())
    dependencies = sorted(analysis["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(
        PACKAGE_NAME,
        version(),
        None,
        analysis["component_definitions"],
        analysis["type_definitions"],
        dependencies,
    )
    document: dict[str, Any] = spec.to_json()
    return document


def schema_text() -> str:
    """``package_schema`` as ``provider/schema.json`` holds it."""
    return json.dumps(package_schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    """``make schema``: regenerate ``provider/schema.json``."""
    SCHEMA_PATH.write_text(schema_text())
    print(f"wrote {SCHEMA_PATH.relative_to(REPOSITORY)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
