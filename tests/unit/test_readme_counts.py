"""The counts the README and the program's docstring state, checked against what the program declares."""

import ast
import re
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from components import package

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
NUMBERS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "ten": 10, "eleven": 11}
NUMBERS |= {"twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15}
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _number(pattern: str, text: str = README) -> int:
    match = re.search(pattern, text)
    assert match is not None, pattern
    return NUMBERS[match.group(1).lower()]


@pytest.fixture(scope="module")
def alarms(render_dev) -> set[str]:
    """The dev stack's alarms, named as the README names them (after ``nfw-blocklist-``)."""
    return {alarm.name.removeprefix("nfw-blocklist-") for alarm in render_dev().of_type(ALARM)}


def test_the_readme_counts_the_alarms_the_default_stack_creates(alarms):
    assert _number(r"With `alarms` on \(the default\), (\w+) CloudWatch alarms") == len(alarms)


def test_the_readme_names_every_alarm_the_default_stack_creates(alarms):
    section = README[README.index("### Alarms") :]
    table = section[section.index("| Alarm") : section.index("\n\n", section.index("| Alarm"))]
    named = {name for row in table.splitlines()[2:] for name in re.findall(r"`([a-z-]+)`", row.split("|")[1])}
    assert named == alarms


def test_the_cost_line_prices_the_alarms_the_default_stack_creates(alarms):
    match = re.search(r"(\w+) standard-resolution alarms at about \$0\.10 each \(\$([\d.]+) a month", README)
    assert match is not None
    assert NUMBERS[match.group(1).lower()] == len(alarms)
    assert float(match.group(2)) == pytest.approx(0.10 * len(alarms))


def test_the_readme_lists_every_array_key_of_the_stack():
    match = re.search(r"List values \(([^)]*)\) are typed", README)
    assert match is not None
    listed = re.findall(r"`(\w+)`", match.group(1))
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert listed == [key for key, spec in declared.items() if spec.get("type") == "array"]


def _components_the_program_wires() -> set[str]:
    tree = ast.parse((REPO / "__main__.py").read_text())
    imported = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("components.")
        for alias in node.names
    }
    return imported & {component.__name__ for component in package.component_types()}


def test_the_program_says_how_many_components_it_wires():
    docstring = ast.get_docstring(ast.parse((REPO / "__main__.py").read_text())) or ""
    assert _number(r"wire the (\w+) components", docstring) == len(_components_the_program_wires())


def test_the_readme_lists_the_components_the_program_wires():
    section = README[README.index("The Pulumi program (`__main__.py`) wires") :]
    section = section[: section.index("\n\n", section.index("- **"))]
    assert set(re.findall(r"^- \*\*`(\w+)`\*\*", section, re.MULTILINE)) == _components_the_program_wires()


def test_the_readme_counts_the_other_components_of_the_package():
    others = _number(r"`FindingForwarder` is a component like the other (\w+)")
    assert others == len(package.component_types()) - 1
