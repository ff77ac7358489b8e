"""Pulumi's project-config rules, as the render applies them to every stack it renders.

The messages are the Pulumi CLI's (pkg/workspace/config.go and its tests in github.com/pulumi/pulumi);
``nfw_blocklist/project_config.py`` says what each rule follows.
"""

import argparse
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from nfw_blocklist.arguments import parse_config_pairs
from nfw_blocklist.project_config import (
    ProjectConfigError,
    StoredValue,
    apply_project_config,
    config_set,
    declared_config,
    load_stack_file,
)
from nfw_blocklist.render import RenderError, render_stack, stack_config

REPO = Path(__file__).resolve().parents[2]
REQUIRED = {
    "Pulumi.yaml": {"adminEmail"},
    "forwarder/Pulumi.yaml": {"targetBusArns"},
    "examples/yaml/Pulumi.yaml": {"adminEmail"},
    "examples/typescript/Pulumi.yaml": {"adminEmail"},
    "tests/reuse/Pulumi.yaml": set(),
    "tests/e2e/instances/Pulumi.yaml": set(),
}
"""Every project of the repository and the keys a stack of it must set: the Pulumi CLI refuses a stack
without a value for a declared key that has no default."""


def _projects() -> list[str]:
    found = REPO.glob("**/Pulumi.yaml")
    return sorted(
        str(path.relative_to(REPO))
        for path in found
        if not {".venv", "node_modules", "sdks", "build"} & set(path.relative_to(REPO).parts)
    )


def test_every_project_of_the_repository_is_listed():
    assert _projects() == sorted(REQUIRED)


@pytest.mark.parametrize("project", sorted(REQUIRED))
def test_only_the_keys_a_stack_must_set_lack_a_default(project):
    document = yaml.safe_load((REPO / project).read_text())
    declared = declared_config(document)
    without_default = {key for key, spec in declared.items() if "default" not in spec and "value" not in spec}
    assert without_default == REQUIRED[project], project


@pytest.mark.parametrize(
    "stack_file",
    [
        "Pulumi.dev.yaml",
        "forwarder/Pulumi.example.yaml",
        "tests/reuse/Pulumi.test.yaml",
        "tests/e2e/instances/Pulumi.test.yaml",
    ],
)
def test_every_shipped_stack_passes_the_clis_checks(stack_file):
    path = REPO / stack_file
    document = yaml.safe_load((path.parent / "Pulumi.yaml").read_text())
    merged = apply_project_config("dev", document, load_stack_file(path.read_text()))
    assert set(merged) >= {f"{document['name']}:{key}" for key in document["config"]}


def _stack(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", **config}}))
    return path


def test_a_stack_without_the_required_key_fails_with_the_clis_message(tmp_path):
    with pytest.raises(RenderError, match=r"^Stack 'prod' is missing configuration value 'adminEmail'$"):
        render_stack("prod", stack_file=_stack(tmp_path, {}))


def test_a_stack_that_sets_only_the_required_key_renders(tmp_path):
    rendered = render_stack(
        "prod", stack_file=_stack(tmp_path, {"nfw-blocklist:adminEmail": "a@example.com"})
    )
    assert rendered.config["nfw-blocklist:updateFindings"] == "auto"
    assert rendered.by_name("nfw-blocklist-annotate")


def test_several_missing_keys_are_named_in_one_message_sorted():
    document = {
        "name": "p",
        "config": {"world": {"type": "string"}, "hello": {}, "values": {"type": "integer"}},
    }
    with pytest.raises(
        ProjectConfigError,
        match=r"^Stack 'dev' is missing configuration values 'hello', 'values' and 'world'$",
    ):
        apply_project_config("dev", document, {})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"retentionMinutes": "soon"}, "'retentionMinutes' must be of type 'integer'"),
        ({"retentionMinutes": 7.5}, "'retentionMinutes' must be of type 'integer'"),
        ({"alarms": "yes"}, "'alarms' must be of type 'boolean'"),
        ({"alarms": "True"}, "'alarms' must be of type 'boolean'"),
        ({"protectedCidrs": '["10.0.0.0/8"]'}, "'protectedCidrs' must be of type 'array<string>'"),
        ({"acceptFindingsFrom": [111122223333]}, "'acceptFindingsFrom' must be of type 'array<string>'"),
        ({"findingSource": ["both"]}, "'findingSource' must be of type 'string'"),
    ],
)
def test_a_value_of_the_wrong_declared_type_fails_as_the_cli_fails_it(tmp_path, config, message):
    stack = {
        "nfw-blocklist:adminEmail": "a@example.com",
        **{f"nfw-blocklist:{k}": v for k, v in config.items()},
    }
    with pytest.raises(RenderError, match=f"^Stack 'prod' with configuration key {message}$"):
        render_stack("prod", stack_file=_stack(tmp_path, stack))


@pytest.mark.parametrize(
    ("config", "stored"),
    [
        ({"retentionMinutes": "1440"}, "1440"),
        ({"retentionMinutes": 1440}, "1440"),
        ({"alarms": False}, "false"),
        ({"protectedCidrs": ["10.0.0.0/8"]}, '["10.0.0.0/8"]'),
    ],
)
def test_a_value_of_the_declared_type_reaches_the_program_as_text(tmp_path, config, stored):
    (key,) = config
    stack = {"nfw-blocklist:adminEmail": "a@example.com", f"nfw-blocklist:{key}": config[key]}
    _, values, _ = stack_config("prod", None, REPO, _stack(tmp_path, stack))
    assert values[f"nfw-blocklist:{key}"] == stored


def test_a_default_of_the_wrong_type_is_refused_as_the_cli_refuses_the_project():
    document = {"name": "p", "config": {"n": {"type": "integer", "default": "many"}}}
    with pytest.raises(
        ProjectConfigError,
        match=r"^The default value specified for configuration key 'n' is not of the expected type",
    ):
        apply_project_config("dev", document, {})


# --- What a command stores ---


@pytest.mark.parametrize(
    ("words", "stored"),
    [
        # Under --path, digits become a number and true/false booleans; a leading 0 keeps digits a string.
        (
            {"key": "ids[0]", "text": "111122223333", "path": True},
            StoredValue("[111122223333]", is_object=True),
        ),
        (
            {"key": "ids[0]", "text": "011122223333", "path": True},
            StoredValue('["011122223333"]', is_object=True),
        ),
        ({"key": "ids[0]", "text": "true", "path": True}, StoredValue("[true]", is_object=True)),
        (
            {"key": "ids[0]", "text": "111122223333", "path": True, "type_": "string"},
            StoredValue('["111122223333"]', is_object=True),
        ),
        # A new list is as long as the index asks, with nulls before it.
        ({"key": "ids[1]", "text": "a", "path": True}, StoredValue('[null, "a"]', is_object=True)),
        # Without --path, every value is text, a JSON list included.
        ({"key": "ids", "text": '["a"]'}, StoredValue('["a"]')),
        ({"key": "n", "text": "720", "type_": "int"}, StoredValue("720")),
    ],
)
def test_pulumi_config_set_stores_what_the_cli_stores(words, stored):
    values: dict[str, StoredValue] = {}
    config_set(values, "p", **words)
    assert list(values.values()) == [stored]


def test_pulumi_config_set_by_path_appends_to_an_existing_list_and_refuses_a_gap():
    values: dict[str, StoredValue] = {}
    config_set(values, "p", "ids[0]", "a", path=True)
    config_set(values, "p", "ids[1]", "b", path=True)
    assert values == {"p:ids": StoredValue('["a", "b"]', is_object=True)}
    with pytest.raises(ProjectConfigError, match=r"ids\[3\]: array index out of range"):
        config_set(values, "p", "ids[3]", "d", path=True)


def test_the_sandboxs_c_refuses_a_json_list_as_pulumi_refuses_it():
    # `pulumi up -c 'protectedCidrs=[...]'` stores the text; the typed schema then refuses the stack.
    with pytest.raises(RenderError, match=r"key 'protectedCidrs' must be of type 'array<string>'"):
        render_stack("dev", parse_config_pairs(['protectedCidrs=["10.0.0.0/8"]']))


def test_the_sandboxs_c_sets_a_list_element_by_path():
    overrides = parse_config_pairs(["protectedCidrs[0]=198.51.100.0/24", "protectedCidrs[1]=203.0.113.0/24"])
    _, values, _ = stack_config("dev", overrides, REPO)
    assert values["nfw-blocklist:protectedCidrs"] == '["198.51.100.0/24", "203.0.113.0/24"]'


def test_the_sandboxs_c_stores_account_digits_as_a_number_which_pulumi_refuses():
    with pytest.raises(RenderError, match=r"key 'acceptFindingsFrom' must be of type 'array<string>'"):
        stack_config("dev", parse_config_pairs(["acceptFindingsFrom[0]=111122223333"]), REPO)


INTEGER_KEYS = sorted(
    key
    for key, spec in yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"].items()
    if spec.get("type") == "integer"
)
"""Every key the project declares an integer (the brake's among them): each is typed the same way."""


def _set(pairs: dict[str, str], how: str) -> dict[str, StoredValue]:
    """The stack's values after ``pulumi config set`` (plain, ``--path``, ``--type int``) or ``-c``."""
    if how == "-c":
        return parse_config_pairs([f"{key}={text}" for key, text in pairs.items()])
    flags: dict[str, Any] = {"plain": {}, "--path": {"path": True}, "--type int": {"type_": "int"}}[how]
    values: dict[str, StoredValue] = {}
    for key, text in pairs.items():
        config_set(values, "nfw-blocklist", key, text, **flags)
    return values


@pytest.mark.parametrize("how", ["plain", "--path", "--type int", "-c"])
def test_every_integer_key_set_as_the_cli_sets_it_reaches_the_program_as_its_digits(how):
    digits = {key: str(40 + n) for n, key in enumerate(INTEGER_KEYS)}
    _, values, _ = stack_config("dev", _set(digits, how), REPO)
    assert {key: values[f"nfw-blocklist:{key}"] for key in INTEGER_KEYS} == digits


@pytest.mark.parametrize("how", ["plain", "--path", "-c"])
def test_every_integer_key_refuses_what_is_no_integer_as_the_cli_refuses_it(how):
    for key in INTEGER_KEYS:
        with pytest.raises(
            RenderError, match=rf"^Stack 'dev' with configuration key '{key}' must be of type 'integer'$"
        ):
            stack_config("dev", _set({key: "4.5"}, how), REPO)


@pytest.mark.parametrize("key", INTEGER_KEYS)
def test_every_integer_key_set_with_type_int_refuses_what_is_no_integer_before_storing_it(key):
    values: dict[str, StoredValue] = {}
    with pytest.raises(ProjectConfigError, match=r'^strconv.Atoi: parsing "4.5": invalid syntax$'):
        config_set(values, "nfw-blocklist", key, "4.5", type_="int")
    assert values == {}


@pytest.mark.parametrize(
    ("source", "annotates"), [("securityhub", True), ("both", True), ("guardduty", False)]
)
def test_update_findings_auto_follows_the_finding_source(source, annotates):
    from components.config import StackConfig

    config = StackConfig.from_mapping(
        {"adminEmail": "a@example.com", "findingSource": source, "updateFindings": "auto"}
    )
    assert config.update_findings is annotates


# --- The README's commands, as the CLI would store them ---


def _readme_config_blocks() -> list[tuple[str, list[str]]]:
    """Every ``sh`` block of the README with a ``pulumi config set``: (its text, its lines)."""
    text = (REPO / "README.md").read_text()
    blocks = [match.group(1) for match in re.finditer(r"```sh\n(.*?)```", text, re.S)]
    return [(block, block.splitlines()) for block in blocks if "pulumi config set " in block]


def _replay(lines: list[str], tmp_path: Path) -> tuple[str, Path, Path]:
    """Run the block's ``cd``, ``pulumi stack init`` and ``pulumi config set`` commands on a stack: the
    dev stack (or the forwarder's example) unless the block starts a new one. Returns the stack's name,
    its project directory and the stack file the commands leave."""
    project_dir, stack, values = REPO, "dev", None
    for line in lines:
        words = shlex.split(line, comments=True)
        if words[:2] == ["cd", "forwarder"]:
            project_dir = REPO / "forwarder"
        elif words[:3] == ["pulumi", "stack", "init"]:
            stack, values = words[3], {}
        elif words[:3] == ["pulumi", "config", "set"]:
            if values is None:
                base = project_dir / ("Pulumi.dev.yaml" if project_dir == REPO else "Pulumi.example.yaml")
                values = load_stack_file(base.read_text())
            project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
            options = argparse.ArgumentParser(exit_on_error=False)
            options.add_argument("--path", action="store_true")
            options.add_argument("--type", dest="type_")
            options.add_argument("key")
            options.add_argument("text")
            parsed = options.parse_args(words[3:])
            config_set(values, project, parsed.key, parsed.text, path=parsed.path, type_=parsed.type_)
    assert values is not None
    stack_file = tmp_path / f"Pulumi.{stack}.yaml"
    document = {
        key: json.loads(value.text) if value.is_object else value.text for key, value in values.items()
    }
    stack_file.write_text(yaml.safe_dump({"config": document}))
    return stack, project_dir, stack_file


def test_the_readme_has_config_commands_to_replay():
    commands = [
        line for _, lines in _readme_config_blocks() for line in lines if "pulumi config set " in line
    ]
    assert len(commands) >= 8
    assert any("acceptFindingsFrom" in line for line in commands)
    assert any("findingAccounts" in line for line in commands)


@pytest.mark.parametrize(
    "lines",
    [lines for _, lines in _readme_config_blocks()],
    ids=[b.split("\n")[0] for b, _ in _readme_config_blocks()],
)
def test_every_readme_config_command_stores_what_the_cli_and_the_program_accept(tmp_path, lines):
    stack, project_dir, stack_file = _replay(lines, tmp_path)
    rendered = render_stack(stack, None, project_dir, stack_file)
    assert rendered.resources


def test_a_key_declared_secret_must_be_encrypted_as_the_cli_requires():
    document = {"name": "p", "config": {"token": {"type": "string", "secret": True}}}
    with pytest.raises(
        ProjectConfigError,
        match=r"^Stack 'dev' with configuration key 'token' must be encrypted as it's secret$",
    ):
        apply_project_config("dev", document, {"p:token": StoredValue("plain")})
    assert apply_project_config("dev", document, {"p:token": StoredValue("v1:abc", secure=True)})
