"""The component package: its schema as the analyzer infers it, and the provider path a YAML program takes.

``pulumi package add`` runs ``provider/__main__.py``, which hosts the components with the SDK's
``ComponentProvider``: it infers the schema from the Args TypedDicts and, for each component a program
declares, maps the program's camelCase inputs onto the Args and calls the constructor. These tests run
that same provider in-process, under the render's mocks, with the inputs a YAML program sends: plain
values (integers as the floats the wire carries), secrets and other resources' outputs as Outputs.
"""

import json
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml  # type: ignore[import-untyped]
from pulumi.errors import InputPropertyError
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError

from components import package
from components.dns_firewall import DnsFirewall
from components.forwarder import FindingForwarder
from components.monitoring import Monitoring
from components.pruning import PruningSchedule
from components.response import BUNDLED_PACKAGES, ResponseStateMachine
from components.rule_group import BlocklistRuleGroup
from nfw_blocklist.render import Rendered, render_function

REPO = Path(__file__).resolve().parents[2]
FUNCTION = "aws:lambda/function:Function"
BUS = "arn:aws:events:eu-west-1:222233334444:event-bus/nfw-blocklist-findings-0a1b2c3"


@pytest.fixture(scope="module")
def provider() -> ComponentProvider:
    return ComponentProvider(package.component_types(), package.PACKAGE_NAME, None, package.version())


def test_the_checked_in_schema_is_what_the_analyzer_infers_from_the_components():
    checked_in = (REPO / "provider" / "schema.json").read_text()

    assert checked_in == package.schema_text(), (
        "provider/schema.json differs from the schema the components' Args and outputs give: "
        "run `make schema` and review the diff (an API change must be deliberate)"
    )


def test_the_package_is_versioned_with_the_python_package():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())

    assert package.version() == pyproject["project"]["version"]
    assert package.package_schema()["version"] == pyproject["project"]["version"]


def test_each_component_registers_under_the_type_its_schema_gives_it(provider):
    for component in package.component_types():
        rendered = render_function(lambda component=component: component("x", minimal_args(component)))
        (registered,) = [r for r in rendered.resources if r.name == "x" and r.parent is None]
        assert registered.type == f"nfw-blocklist:index:{component.__name__}"


def test_every_input_and_output_of_the_schema_is_described():
    schema = package.package_schema()
    undescribed = [
        f"{token}.{name}"
        for token, resource in schema["resources"].items()
        for section in ("inputProperties", "properties")
        for name, prop in resource[section].items()
        if not (prop.get("description") or "").strip()
    ]

    assert undescribed == []


# --- The provider path: a YAML program's inputs, mapped by the SDK, build what the Python API builds ---

PYTHON_ARGS: dict[type, dict[str, Any]] = {
    BlocklistRuleGroup: {
        "capacity": 500,
        "create_firewall_policy": True,
        "domain_capacity": 1000,
        "home_net_cidrs": ["10.0.0.0/8"],
        "tags": {"team": "netops"},
    },
    ResponseStateMachine: {
        "admin_email": "netops@example.org",
        "table_name": "ledger",
        "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/ledger",
        "rule_group_arn": "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/rules",
        "rule_group_priority": 100,
        "retention_minutes": 60,
        "protected_cidrs": ["203.0.113.0/24"],
        "min_severity": 4.5,
        "finding_type_exclude": ["Recon:"],
        "on_capacity_full": "refuse",
        "action_types": ["awsApiCallAction"],
        "finding_regions": ["us-east-1", "eu-west-1"],
        "finding_accounts": ["111122223333"],
        "finding_source": "both",
        "update_findings": True,
        "finding_workflow_status": "RESOLVED",
        "domain_blocking": "both",
        "domain_rule_group_arn": "arn:aws:network-firewall:us-east-1:123456789012:stateful-rulegroup/domains",
        "dns_firewall_domain_list_id": "rslvr-fdl-0123456789abcdef",
        "dns_firewall_domain_list_arn": (
            "arn:aws:route53resolver:us-east-1:123456789012:firewall-domain-list/rslvr-fdl-0123456789abcdef"
        ),
        "protected_domains": ["corp.example.com"],
        "dns_firewall_max_domains": 500,
        "accept_findings_from": ["111122223333"],
        "log_retention_days": 7,
        "tracing": True,
    },
    PruningSchedule: {
        "prune_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:prune",
        "topic_arn": "arn:aws:sns:us-east-1:123456789012:topic",
        "topic_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
        "frequency_minutes": 5,
        "log_retention_days": 14,
    },
    Monitoring: {
        "topic_arn": "arn:aws:sns:us-east-1:123456789012:topic",
        "rule_group_name": "rules",
        "response_state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:response",
        "pruning_state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:pruning",
        "dead_letter_queue_arn": "arn:aws:sqs:us-east-1:123456789012:dead-letters",
        "record_function_name": "record",
        "block_function_name": "block",
        "prune_function_name": "prune",
        "steer_function_name": "steer",
        "annotate_function_name": "annotate",
        "capacity_alarm_percent": 90,
    },
    FindingForwarder: {
        "target_bus_arns": [BUS],
        "finding_source": "guardduty",
        "finding_regions": ["us-east-1"],
        "domain_findings": False,
    },
    DnsFirewall: {
        "vpc_ids": ["vpc-0123456789abcdef0", "vpc-01234567"],
        "block_response": "NXDOMAIN",
        "association_priority": 200,
        "tags": {"team": "netops"},
    },
}
"""Non-default values for every component, as a Python program passes them."""

FROM_OTHER_RESOURCES = {
    "table_name",
    "table_arn",
    "rule_group_arn",
    "prune_function_arn",
    "topic_arn",
    "topic_key_arn",
    "rule_group_name",
    "response_state_machine_arn",
    "pruning_state_machine_arn",
    "dead_letter_queue_arn",
    "record_function_name",
    "block_function_name",
    "prune_function_name",
    "steer_function_name",
    "annotate_function_name",
    "domain_rule_group_arn",
    "dns_firewall_domain_list_id",
    "dns_firewall_domain_list_arn",
}
"""Inputs a program takes from another component's outputs: the provider receives them as Outputs."""


def minimal_args(component: type) -> dict[str, Any]:
    required = component.__init__.__annotations__["args"].__required_keys__
    return {field: value for field, value in PYTHON_ARGS[component].items() if field in required}


def yaml_inputs(args: Mapping[str, Any]) -> dict[str, Any]:
    """What the provider receives for ``args`` from a YAML program: camelCase names, every number a float
    (protobuf's only number), another resource's output and a secret as Outputs."""

    def sent(field: str, value: Any) -> Any:
        if field == "admin_email":
            return pulumi.Output.secret(value)
        if field in FROM_OTHER_RESOURCES:
            return pulumi.Output.from_input(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    return {camel(field): sent(field, value) for field, value in args.items()}


def camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(word.title() for word in rest)


def construct_through_provider(provider: ComponentProvider, component: type, inputs: dict[str, Any]) -> Any:
    return provider.construct("x", f"nfw-blocklist:index:{component.__name__}", inputs, None)


def resources(rendered: Rendered) -> list[tuple[str, str, str | None, str]]:
    names = {r.urn: r.name for r in rendered.resources}
    return sorted(
        (r.type, r.name, names.get(r.parent or ""), json.dumps(r.inputs, sort_keys=True))
        for r in rendered.resources
    )


@pytest.mark.parametrize("component", list(PYTHON_ARGS), ids=lambda component: component.__name__)
def test_a_yaml_programs_inputs_build_what_the_python_api_builds(provider, component):
    args = PYTHON_ARGS[component]

    through_python = render_function(lambda: component("x", args))
    through_provider = render_function(
        lambda: construct_through_provider(provider, component, yaml_inputs(args))
    )

    assert resources(through_provider) == resources(through_python)
    assert len(through_python.resources) > 1


def test_the_provider_returns_the_outputs_under_their_schema_names(provider):
    states: list[dict[str, Any]] = []
    render_function(
        lambda: states.append(
            construct_through_provider(
                provider, BlocklistRuleGroup, yaml_inputs(PYTHON_ARGS[BlocklistRuleGroup])
            ).state
        )
    )
    outputs = package.package_schema()["resources"]["nfw-blocklist:index:BlocklistRuleGroup"]["properties"]

    assert set(states[0]) == set(outputs)


@pytest.mark.parametrize(
    ("component", "bad", "message"),
    [
        (
            BlocklistRuleGroup,
            {"capacity": 2.0},
            "BlocklistRuleGroup 'x': capacity must be an integer from 3 to 30000, got 2.0",
        ),
        (
            ResponseStateMachine,
            {"retentionMinutes": 3.0},
            "ResponseStateMachine 'x': retentionMinutes (retention_minutes) must be an integer from 5 to",
        ),
        (
            PruningSchedule,
            {"frequencyMinutes": 181.0},
            "PruningSchedule 'x': frequencyMinutes (frequency_minutes) must be an integer from 5 to 180",
        ),
    ],
)
def test_a_bad_plain_value_from_a_yaml_program_is_refused_naming_the_input(provider, component, bad, message):
    # Outputs belong to the render's runtime: the inputs are made inside it, never at import.
    with pytest.raises(ComponentInitError, match=re.escape(message)):
        render_function(
            lambda: construct_through_provider(
                provider, component, {**yaml_inputs(minimal_args(component)), **bad}
            )
        )


def test_a_bad_value_known_only_at_deployment_fails_it_naming_the_input(provider):
    def program() -> None:
        inputs = {
            **yaml_inputs(minimal_args(ResponseStateMachine)),
            "protectedCidrs": [pulumi.Output.from_input("not-a-cidr")],
        }
        construct_through_provider(provider, ResponseStateMachine, inputs)

    with pytest.raises(
        ValueError, match=re.escape("ResponseStateMachine 'x': protectedCidrs (protected_cidrs) must be")
    ):
        render_function(program)


def test_an_input_that_decides_which_resources_exist_must_be_plain(provider):
    def program() -> None:
        inputs = {
            **yaml_inputs(minimal_args(ResponseStateMachine)),
            "acceptFindingsFrom": pulumi.Output.from_input(["111122223333"]),
        }
        construct_through_provider(provider, ResponseStateMachine, inputs)

    with pytest.raises(
        ComponentInitError, match=re.escape("acceptFindingsFrom (accept_findings_from) must be a plain value")
    ):
        render_function(program)


def test_a_missing_required_input_is_named_by_the_provider(provider):
    def program() -> None:
        inputs = yaml_inputs(minimal_args(PruningSchedule))
        del inputs["topicArn"]
        construct_through_provider(provider, PruningSchedule, inputs)

    with pytest.raises(InputPropertyError, match="Missing required input 'topicArn' on 'PruningSchedule'"):
        render_function(program)


# --- The shipped YAML program: only what the schema has, and it builds what the Python program builds ---

YAML_EXAMPLE = REPO / "examples" / "yaml" / "Pulumi.yaml"
REFERENCE = re.compile(r"^\$\{([A-Za-z][\w-]*)(?:\.(\w+))?\}$")
SCHEMA_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list}


def yaml_program() -> dict[str, Any]:
    return yaml.safe_load(YAML_EXAMPLE.read_text())


def schema_problems(program: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every type, input, required input, literal value and ``${resource.output}`` of ``program`` that the
    schema does not have or accept, as ``where: what``."""
    resources, types = schema["resources"], schema["types"]
    declared = program["resources"]
    problems = []

    def check_reference(where: str, value: Any) -> None:
        match = REFERENCE.match(value) if isinstance(value, str) else None
        if match is None or match[2] is None:
            return
        target = declared.get(match[1], {}).get("type")
        if target in resources and match[2] not in resources[target]["properties"]:
            problems.append(f"{where}: {target} has no output {match[2]!r}")

    for key, resource in declared.items():
        token = resource["type"]
        if token not in resources:
            problems.append(f"{key}: no type {token!r} in the schema")
            continue
        inputs, properties = resources[token]["inputProperties"], resource.get("properties") or {}
        problems += [
            f"{key}: {token} has no input {name!r}" for name in sorted(set(properties) - set(inputs))
        ]
        missing = set(resources[token].get("requiredInputs", [])) - set(properties)
        problems += [f"{key}: required input {name!r} missing" for name in sorted(missing)]
        for name, value in properties.items():
            check_reference(f"{key}.{name}", value)
            spec = inputs.get(name, {})
            if REFERENCE.match(str(value)) or not spec:
                continue
            if "$ref" in spec:
                allowed = [member["value"] for member in types[spec["$ref"].removeprefix("#/types/")]["enum"]]
                if value not in allowed:
                    problems.append(f"{key}.{name}: {value!r} is not one of {allowed}")
            elif not isinstance(value, SCHEMA_TYPES.get(spec["type"], object)):
                problems.append(f"{key}.{name}: {value!r} is not of type {spec['type']}")
    for name, value in (program.get("outputs") or {}).items():
        check_reference(f"outputs.{name}", value)
    return problems


def test_the_yaml_example_names_only_types_and_properties_of_the_schema():
    assert schema_problems(yaml_program(), package.package_schema()) == []


def test_the_yaml_check_finds_an_unknown_input_a_missing_one_and_a_bad_reference():
    program = yaml_program()
    response = program["resources"]["response"]["properties"]
    response["retentionHours"] = 12
    del response["tableArn"]
    program["outputs"]["topicArn"] = "${response.topic}"

    assert schema_problems(program, package.package_schema()) == [
        "response: nfw-blocklist:index:ResponseStateMachine has no input 'retentionHours'",
        "response: required input 'tableArn' missing",
        "outputs.topicArn: nfw-blocklist:index:ResponseStateMachine has no output 'topic'",
    ]


def test_the_yaml_example_builds_through_the_provider_what_the_python_program_builds(provider, render_dev):
    program = yaml_program()
    config = {"adminEmail": "security-team@example.com", "retentionMinutes": 720}

    def run() -> None:
        states: dict[str, dict[str, Any]] = {}

        def value(raw: Any) -> Any:
            match = REFERENCE.match(raw) if isinstance(raw, str) else None
            if match is None:
                return float(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
            return states[match[1]][match[2]] if match[2] else value(config[match[1]])

        for key, resource in program["resources"].items():
            inputs = {name: value(raw) for name, raw in (resource.get("properties") or {}).items()}
            states[key] = provider.construct(key, resource["type"], inputs, None).state

    through_yaml = render_function(run, stack="dev", project="nfw-blocklist-yaml")
    through_python = render_dev()

    def kinds(rendered: Rendered) -> Counter[str]:
        return Counter(r.type for r in rendered.resources)

    def environments(rendered: Rendered) -> list[list[str]]:
        return sorted(sorted(f.inputs["environment"]["variables"]) for f in rendered.of_type(FUNCTION))

    assert kinds(through_yaml) == kinds(through_python)
    assert environments(through_yaml) == environments(through_python)


TYPESCRIPT_EXAMPLE = REPO / "examples" / "typescript" / "index.ts"
TS_COMPONENT = re.compile(r"const (\w+) = new nfwBlocklist\.(\w+)\(\"[\w-]+\", \{(.*?)\n\}\);", re.DOTALL)


def test_the_typescript_example_names_only_inputs_and_outputs_of_the_schema():
    """Not compiled here: its constructor arguments and the outputs it reads are checked against the schema,
    as the generated SDK's types would."""
    resources = package.package_schema()["resources"]
    source = TYPESCRIPT_EXAMPLE.read_text()
    components = {var: f"nfw-blocklist:index:{kind}" for var, kind, _ in TS_COMPONENT.findall(source)}
    problems = []
    for var, kind, body in TS_COMPONENT.findall(source):
        token = f"nfw-blocklist:index:{kind}"
        inputs = re.findall(r"^\s{4}(\w+):", body, re.MULTILINE)
        problems += [
            f"{var}: no input {name}" for name in inputs if name not in resources[token]["inputProperties"]
        ]
        problems += [
            f"{var}: {name} missing"
            for name in resources[token].get("requiredInputs", [])
            if name not in inputs
        ]
    for var, output in re.findall(r"\b(\w+)\.(\w+)\b", source):
        if var in components and output not in resources[components[var]]["properties"]:
            problems.append(f"{var}.{output}: no such output")

    assert len(components) == 4
    assert problems == []


def test_the_provider_packages_the_repositorys_handlers_whatever_the_working_directory(
    provider, monkeypatch, tmp_path
):
    # The language host runs the provider from its plugin directory, not the repository root.
    monkeypatch.chdir(tmp_path)

    rendered = render_function(
        lambda: construct_through_provider(
            provider, ResponseStateMachine, yaml_inputs(minimal_args(ResponseStateMachine))
        )
    )

    assets = rendered.by_name("x-record").inputs["code"]["assets"]
    assert assets["handlers/entry.py"] == {"path": str(REPO / "handlers" / "entry.py")}
    # The handlers, and beside them the pure-Python packages the Lambda runtime lacks (idna).
    packages = ("handlers", *BUNDLED_PACKAGES)
    assert all(path.split("/", 1)[0] in packages for path in assets), sorted(assets)


def test_the_yaml_and_typescript_examples_export_what_the_python_program_exports(render_dev):
    """The three are one deployment (a default stack); a user switching language keeps the output names
    their scripts read (``pulumi stack output domainRuleGroupArn``)."""
    python = set(render_dev().outputs)
    yaml_example = set(yaml.safe_load((REPO / "examples" / "yaml" / "Pulumi.yaml").read_text())["outputs"])
    typescript = set(re.findall(r"^export const (\w+)\b", TYPESCRIPT_EXAMPLE.read_text(), re.MULTILINE))

    assert yaml_example == python
    assert typescript == python
