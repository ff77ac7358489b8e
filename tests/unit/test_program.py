"""The dev stack as ``pulumi up`` would run it: every resource, its parent, and the stack outputs."""

import tomllib
from collections import Counter
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from nfw_blocklist.render import render_stack

EXPECTED_TYPES = {
    "nfw-blocklist:index:BlocklistRuleGroup": 1,
    "nfw-blocklist:index:ResponseStateMachine": 1,
    "nfw-blocklist:index:PruningSchedule": 1,
    "nfw-blocklist:index:Monitoring": 1,
    "aws:networkfirewall/ruleGroup:RuleGroup": 2,
    "aws:dynamodb/table:Table": 1,
    "aws:kms/key:Key": 1,
    "aws:sns/topic:Topic": 1,
    "aws:sns/topicSubscription:TopicSubscription": 1,
    "aws:lambda/function:Function": 5,
    "aws:cloudwatch/logGroup:LogGroup": 7,
    "aws:iam/role:Role": 11,
    "aws:iam/rolePolicy:RolePolicy": 11,
    "aws:sfn/stateMachine:StateMachine": 2,
    "aws:sqs/queue:Queue": 1,
    "aws:sqs/queuePolicy:QueuePolicy": 1,
    "aws:cloudwatch/eventRule:EventRule": 3,
    "aws:cloudwatch/eventTarget:EventTarget": 3,
    "aws:securityhub/actionTarget:ActionTarget": 3,
    "aws:scheduler/schedule:Schedule": 1,
    "aws:lambda/invocation:Invocation": 1,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 15,
    "aws:cloudwatch/dashboard:Dashboard": 1,
}


@pytest.fixture(scope="module")
def dev(render_dev):
    return render_dev()


def test_dev_stack_declares_the_expected_resources(dev):
    assert Counter(r.type for r in dev.resources) == EXPECTED_TYPES


def test_every_aws_resource_is_parented_to_one_of_the_four_components(dev):
    components = {r.urn for r in dev.resources if r.type.startswith("nfw-blocklist:index:")}
    for resource in dev.resources:
        if resource.type.startswith("aws:"):
            assert resource.parent in components, resource.urn
        else:
            assert resource.parent is None, resource.urn


def test_physical_names_are_unique_so_the_sandbox_can_create_them(dev):
    names = Counter((r.type, r.state.get("name")) for r in dev.resources if r.type.startswith("aws:"))
    assert [key for key, count in names.items() if count > 1] == []


def test_stack_exports_what_operators_and_the_cli_need(dev):
    group = dev.by_name("nfw-blocklist-rules")
    assert dev.outputs == {
        "ruleGroupArn": group.state["arn"],
        "ruleGroupName": group.state["name"],
        "stateMachineArn": dev.by_name("nfw-blocklist-response").state["arn"],
        "pruningStateMachineArn": dev.by_name("nfw-blocklist-pruning").state["arn"],
        "tableName": dev.by_name("nfw-blocklist-ledger").state["name"],
        "topicArn": dev.by_name("nfw-blocklist-notifications").state["arn"],
        "dashboardUrl": (
            "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/nfw-blocklist-dev"
        ),
        "domainRuleGroupArn": dev.by_name("nfw-blocklist-domains-strict").state["arn"],
    }


def test_accepting_findings_adds_a_finding_bus_with_its_policy_and_rules_and_exports_it(render_dev):
    rendered = render_dev(acceptFindingsFrom='["111122223333"]')
    expected = EXPECTED_TYPES | {
        "aws:cloudwatch/eventBus:EventBus": 1,
        "aws:cloudwatch/eventBusPolicy:EventBusPolicy": 1,
        "aws:cloudwatch/eventRule:EventRule": 3 + 2,
        "aws:cloudwatch/eventTarget:EventTarget": 3 + 2,
    }

    assert Counter(r.type for r in rendered.resources) == expected
    (bus,) = rendered.of_type("aws:cloudwatch/eventBus:EventBus")
    assert set(rendered.outputs) - set(render_dev().outputs) == {"findingBusArn"}
    assert rendered.outputs["findingBusArn"] == bus.state["arn"]


def test_a_bad_config_value_stops_the_program_before_any_resource():
    from components.config import InvalidConfig

    with pytest.raises(
        InvalidConfig, match="nfw-blocklist:retentionMinutes must be an integer from 5 to 10080"
    ):
        render_stack("dev", {"retentionMinutes": "3"})


@pytest.mark.parametrize(
    ("type_", "outputs"),
    [
        (
            "nfw-blocklist:index:BlocklistRuleGroup",
            {"rule_group_arn", "rule_group_name", "table_name", "table_arn", "domain_rule_group_arn"},
        ),
        (
            "nfw-blocklist:index:ResponseStateMachine",
            {
                "state_machine_arn",
                "topic_arn",
                "topic_key_arn",
                "record_function_name",
                "record_function_arn",
                "block_function_name",
                "block_function_arn",
                "prune_function_name",
                "prune_function_arn",
                "steer_function_name",
                "annotate_function_name",
                "dead_letter_queue_arn",
            },
        ),
        ("nfw-blocklist:index:PruningSchedule", {"pruning_state_machine_arn", "schedule_name"}),
    ],
)
def test_components_register_exactly_their_public_outputs(dev, type_, outputs):
    (component,) = dev.of_type(type_)
    assert set(component.outputs) == outputs, component.urn


# --- What `pulumi install`, `pulumi config` and `pulumi up` read besides the program ---

REPO = Path(__file__).resolve().parents[2]
FIRST_PULUMI_AWS_WITH_GSI_KEY_SCHEMAS = Version("7.17.0")
"""7.16.0's TableGlobalSecondaryIndexArgs has no ``key_schemas``; 7.17.0's has (checked in both wheels)."""


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    parsed = [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]
    return {canonicalize_name(r.name): r for r in parsed}


def _project_dependencies() -> dict[str, Requirement]:
    return _requirements(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])


def test_requirements_txt_lists_exactly_the_programs_runtime_dependencies():
    # Pulumi's pip toolchain installs requirements.txt into .venv; without it a fresh checkout has no SDK.
    listed = _requirements((REPO / "requirements.txt").read_text().splitlines())
    expected = _project_dependencies()
    assert {name: str(r) for name, r in listed.items()} == {name: str(r) for name, r in expected.items()}
    assert {"pulumi", "pulumi-aws"} <= set(listed)


def test_pulumi_aws_lower_bound_has_the_gsi_key_schemas_the_ledger_uses():
    from components.rule_group import ledger_indexes

    assert all("key_schemas" in index for index in ledger_indexes())
    (bound,) = [s for s in _project_dependencies()["pulumi-aws"].specifier if s.operator == ">="]
    assert Version(bound.version) >= FIRST_PULUMI_AWS_WITH_GSI_KEY_SCHEMAS


def test_the_readme_states_the_ranges_the_program_enforces():
    from components.constants import MAX_SOURCE_PRIORITY, MAX_STATELESS_CAPACITY, MIN_CAPACITY

    readme = (REPO / "README.md").read_text()
    dash = "\N{EN DASH}"
    assert f"| `ruleGroupCapacity` | `2000` | {MIN_CAPACITY}{dash}{MAX_STATELESS_CAPACITY} |" in readme
    assert f"| `ruleGroupPriority` | `30000` | 1{dash}{MAX_SOURCE_PRIORITY} |" in readme
    schema = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert f"({MIN_CAPACITY}-{MAX_STATELESS_CAPACITY})" in schema["ruleGroupCapacity"]["description"]
    assert f"(1-{MAX_SOURCE_PRIORITY})" in schema["ruleGroupPriority"]["description"]
