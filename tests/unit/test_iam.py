"""Every role can do exactly what its code calls, on exactly the resources it owns."""

import json
from typing import Any

import pytest

from components import iam
from handlers import schema

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def function_arn(render_dev) -> Any:
    """The ARN of the dev stack's function ``key`` (auto-named, so read from the render)."""
    return lambda key: str(render_dev().by_name(f"nfw-blocklist-{key}").state["arn"])


def log_streams(group: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"


@pytest.fixture(scope="module")
def policies(render_dev) -> dict[str, dict[str, Any]]:
    """Role logical name -> its inline policy document, from the dev stack's render."""
    rendered = render_dev()
    logical = {role.id: role.name for role in rendered.of_type("aws:iam/role:Role")}
    return {
        logical[policy.inputs["role"]]: json.loads(policy.inputs["policy"])
        for policy in rendered.of_type("aws:iam/rolePolicy:RolePolicy")
    }


@pytest.fixture(scope="module")
def table_arn(render_dev) -> str:
    return str(render_dev().by_name("nfw-blocklist-ledger").state["arn"])


def actions(document: dict[str, Any]) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in document["Statement"] if s["Sid"] == sid]
    return found


ROLES = {
    "nfw-blocklist-record-role": iam.RECORD_FUNCTION_ACTIONS,
    "nfw-blocklist-block-role": iam.BLOCK_FUNCTION_ACTIONS,
    "nfw-blocklist-prune-role": iam.PRUNE_FUNCTION_ACTIONS,
    "nfw-blocklist-annotate-role": iam.ANNOTATE_FUNCTION_ACTIONS,
    "nfw-blocklist-response-role": iam.STATE_MACHINE_ACTIONS,
    "nfw-blocklist-securityhub-target-role": iam.START_EXECUTION_ACTIONS,
}


def test_every_role_has_exactly_one_inline_policy(render_dev, policies):
    roles = {role.name for role in render_dev().of_type("aws:iam/role:Role")}
    assert roles == set(policies)


@pytest.mark.parametrize(("role", "expected"), sorted(ROLES.items()))
def test_role_actions_are_exactly_what_its_code_calls(policies, role, expected):
    assert actions(policies[role]) == set(expected)


def test_record_function_may_write_ledger_items_and_nothing_else():
    assert {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    } == iam.RECORD_FUNCTION_ACTIONS


def test_block_and_prune_functions_may_sync_the_rule_group_with_the_ledger():
    expected = {
        "network-firewall:DescribeRuleGroup",
        "network-firewall:UpdateRuleGroup",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchGetItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert expected == iam.BLOCK_FUNCTION_ACTIONS == iam.PRUNE_FUNCTION_ACTIONS


def test_response_workflow_invokes_only_record_block_steer_and_annotate(policies, function_arn):
    workflow = policies["nfw-blocklist-response-role"]
    invoked = statement(workflow, "InvokeFunctions")["Resource"]
    assert invoked == [
        function_arn("record"),
        function_arn("block"),
        function_arn("steer"),
        function_arn("annotate"),
    ]


def test_the_steer_function_may_sync_the_group_and_read_a_findings_holds():
    assert iam.BLOCK_FUNCTION_ACTIONS | {"dynamodb:GetItem"} == iam.STEER_FUNCTION_ACTIONS


def test_only_the_annotate_function_may_update_findings_and_only_on_the_accounts_hub(policies):
    granted = {
        role: resource
        for role, document in policies.items()
        for entry in document["Statement"]
        if "securityhub:BatchUpdateFindings" in entry["Action"]
        for resource in [entry["Resource"]]
    }
    assert granted == {
        "nfw-blocklist-annotate-role": ["arn:aws:securityhub:us-east-1:123456789012:hub/default"]
    }
    assert {
        "securityhub:BatchUpdateFindings",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    } == iam.ANNOTATE_FUNCTION_ACTIONS


def test_pruning_workflow_invokes_only_prune(policies, function_arn):
    workflow = policies["nfw-blocklist-pruning-role"]
    assert actions(workflow) == set(iam.STATE_MACHINE_ACTIONS)
    assert statement(workflow, "InvokeFunctions")["Resource"] == [function_arn("prune")]


def test_schedule_role_starts_only_the_pruning_workflow(render_dev, policies):
    machine = render_dev().by_name("nfw-blocklist-pruning")
    schedule = policies["nfw-blocklist-schedule-role"]
    assert actions(schedule) == set(iam.START_EXECUTION_ACTIONS)
    assert statement(schedule, "StartWorkflow")["Resource"] == [machine.state["arn"]]


def test_no_statement_grants_a_wildcard_action(policies):
    for role, document in policies.items():
        for action in actions(document):
            assert "*" not in action, f"{role} grants {action}"


def test_wildcard_resources_only_for_log_delivery(policies):
    for role, document in policies.items():
        for s in document["Statement"]:
            if "*" in s["Resource"]:
                assert set(s["Action"]) <= iam.WILDCARD_RESOURCE_ACTIONS, f"{role}: {s}"
                assert s["Sid"] == "LogDelivery"


def test_sync_functions_reach_the_table_and_exactly_its_two_indexes(policies, table_arn):
    ledger = statement(policies["nfw-blocklist-block-role"], "Ledger")
    assert ledger["Resource"] == [
        table_arn,
        f"{table_arn}/index/{schema.EXPIRY_INDEX}",
        f"{table_arn}/index/{schema.PENDING_INDEX}",
    ]


def test_record_function_reaches_only_the_table(policies, table_arn):
    assert statement(policies["nfw-blocklist-record-role"], "Ledger")["Resource"] == [table_arn]


def test_sync_functions_update_only_this_stacks_rule_groups(render_dev, policies):
    rule_group_arn = render_dev().by_name("nfw-blocklist-rules").state["arn"]
    domain_group_arn = render_dev().by_name("nfw-blocklist-domains-strict").state["arn"]
    for key in ("block", "prune"):
        resources = statement(policies[f"nfw-blocklist-{key}-role"], "RuleGroup")["Resource"]
        assert resources == [rule_group_arn, domain_group_arn]


@pytest.mark.parametrize("key", ["record", "block", "prune"])
def test_each_function_writes_only_its_own_log_group(policies, key):
    own = statement(policies[f"nfw-blocklist-{key}-role"], "OwnLogs")
    assert own["Resource"] == [log_streams(f"/aws/lambda/nfw-blocklist/dev/nfw-blocklist-{key}")]


def test_workflow_publishes_to_the_topic_with_its_key(render_dev, policies):
    (key,) = render_dev().of_type("aws:kms/key:Key")
    workflow = policies["nfw-blocklist-response-role"]
    topic = render_dev().by_name("nfw-blocklist-notifications")
    assert statement(workflow, "Notify")["Resource"] == [topic.state["arn"]]
    assert statement(workflow, "EncryptNotifications")["Resource"] == [key.state["arn"]]


def test_event_target_role_starts_only_the_response_workflow(render_dev, policies):
    machine = render_dev().by_name("nfw-blocklist-response")
    target = policies["nfw-blocklist-securityhub-target-role"]
    assert statement(target, "StartWorkflow")["Resource"] == [machine.state["arn"]]


@pytest.mark.parametrize(
    ("role", "service"),
    [
        ("nfw-blocklist-record-role", iam.LAMBDA_PRINCIPAL),
        ("nfw-blocklist-response-role", iam.STATES_PRINCIPAL),
        ("nfw-blocklist-pruning-role", iam.STATES_PRINCIPAL),
        ("nfw-blocklist-securityhub-target-role", iam.EVENTS_PRINCIPAL),
        ("nfw-blocklist-schedule-role", iam.SCHEDULER_PRINCIPAL),
    ],
)
def test_each_role_trusts_only_its_service(render_dev, role, service):
    found = render_dev().by_name(role)
    trust = json.loads(found.inputs["assumeRolePolicy"])
    expected = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    assert trust["Statement"] == [expected]


def test_dead_letter_queue_accepts_only_this_stacks_rules(render_dev):
    (policy,) = render_dev().of_type("aws:sqs/queuePolicy:QueuePolicy")
    document = json.loads(policy.inputs["policy"])
    rules = [
        render_dev().by_name(f"nfw-blocklist-{source}").state["arn"]
        for source in ("securityhub", "archived", "actions")
    ]
    assert document["Statement"][0]["Condition"] == {"ArnEquals": {"aws:SourceArn": rules}}
