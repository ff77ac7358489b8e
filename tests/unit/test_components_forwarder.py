"""The sending side: the forwarder project rendered as ``pulumi up`` would run it from forwarder/."""

import json
from pathlib import Path
from typing import Any

import pytest

from components.config import InvalidConfig
from components.forwarder import FindingForwarderArgs
from components.forwarder_config import ForwarderConfig
from nfw_blocklist.render import Rendered, render_stack

REPO = Path(__file__).resolve().parents[2]
FORWARDER = REPO / "forwarder"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
BUSES = [f"arn:aws:events:{region}:222233334444:event-bus/nfw-blocklist-findings-{n}" for n in range(4)
         for region in ("us-east-1", "eu-west-1")][:7]  # fmt: skip
"""Seven buses: more than one rule's five targets."""
FILTERS = {"findingSource": "both", "findingRegions": '["eu-west-1"]', "findingAccounts": '["111122223333"]'}


@pytest.fixture(scope="module")
def seven() -> Rendered:
    return render_stack("example", {"targetBusArns": json.dumps(BUSES), **FILTERS}, project_dir=FORWARDER)


@pytest.fixture(scope="module")
def example() -> Rendered:
    return render_stack("example", project_dir=FORWARDER)


def _targets_by_rule(rendered: Rendered) -> dict[str, list[Any]]:
    by_rule: dict[str, list[Any]] = {r.state["name"]: [] for r in rendered.of_type(RULE)}
    for target in rendered.of_type(TARGET):
        by_rule[target.inputs["rule"]].append(target)
    return by_rule


def test_the_shipped_example_stack_renders_one_rule_per_source_with_both_buses(example):
    (rule,) = example.of_type(RULE)
    targets = _targets_by_rule(example)[rule.state["name"]]

    assert sorted(t.inputs["arn"] for t in targets) == sorted(
        json.loads(example.config["nfw-blocklist-forwarder:targetBusArns"])
    )
    assert example.outputs["ruleArns"] == [rule.state["arn"]]


def test_more_than_five_buses_are_split_into_rules_of_at_most_five_targets(seven):
    by_rule = _targets_by_rule(seven)

    assert len(by_rule) == 4  # two sources, two rules each
    assert all(1 <= len(targets) <= 5 for targets in by_rule.values())
    for source in ("securityhub", "guardduty"):
        arns = [t.inputs["arn"] for name, ts in by_rule.items() if f"-{source}-" in name for t in ts]
        assert sorted(arns) == sorted(BUSES), source


def test_the_forwarders_patterns_are_the_blocklists_for_the_same_filters(seven, render_dev):
    blocklist = render_dev(**FILTERS)
    receiving = {r.name.rsplit("-", 1)[-1]: r.inputs["eventPattern"] for r in blocklist.of_type(RULE)}

    for rule in seven.of_type(RULE):
        source = rule.name.split("-")[-2]
        assert rule.inputs["eventPattern"] == receiving[source], rule.urn
    assert "eventBusName" not in seven.of_type(RULE)[0].inputs  # on the default bus, where findings arrive


def check_role_policy(document: dict[str, Any], buses: list[str]) -> None:
    """Exactly ``events:PutEvents``, on exactly these buses, nothing else."""
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ForwardFindings", "Effect": "Allow", "Action": ["events:PutEvents"], "Resource": buses}
        ],
    }


def _role_policy(rendered: Rendered) -> dict[str, Any]:
    (policy,) = rendered.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policy.inputs["role"] == rendered.by_name("nfw-blocklist-forwarder-role").state["name"]
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


def test_the_role_may_only_put_events_on_exactly_the_target_buses(seven):
    check_role_policy(_role_policy(seven), BUSES)


@pytest.mark.parametrize(
    "mistake",
    [
        lambda d: d["Statement"][0].update(Resource="*"),
        lambda d: d["Statement"][0].update(Resource=["arn:aws:events:*:*:event-bus/*"]),
        lambda d: d["Statement"][0]["Resource"].pop(),
        lambda d: d["Statement"][0].update(Action=["events:*"]),
        lambda d: d["Statement"][0]["Action"].append("events:PutRule"),
    ],
    ids=["wildcard-resource", "wildcard-arn", "missing-bus", "any-action", "extra-action"],
)
def test_a_mistake_in_the_role_policy_fails_the_check(seven, mistake):
    document = _role_policy(seven)
    mistake(document)

    with pytest.raises(AssertionError):
        check_role_policy(document, BUSES)


def test_only_eventbridge_for_rules_of_the_forwarders_account_may_assume_the_role(seven):
    trust = json.loads(seven.by_name("nfw-blocklist-forwarder-role").inputs["assumeRolePolicy"])
    account = seven.of_type(RULE)[0].state["arn"].split(":")[4]

    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }
    ]


def test_every_target_puts_as_the_role_with_the_blocklists_retries_and_dead_letter_queue(seven):
    (queue,) = seven.of_type("aws:sqs/queue:Queue")
    role = seven.by_name("nfw-blocklist-forwarder-role")
    for target in seven.of_type(TARGET):
        assert target.inputs["roleArn"] == role.state["arn"], target.urn
        assert target.inputs["retryPolicy"] == {
            "maximumEventAgeInSeconds": 86400,
            "maximumRetryAttempts": 185,
        }
        assert target.inputs["deadLetterConfig"] == {"arn": queue.state["arn"]}, target.urn


def test_only_the_forwarders_rules_may_write_to_its_dead_letter_queue(seven):
    (queue,) = seven.of_type("aws:sqs/queue:Queue")
    (policy,) = seven.of_type("aws:sqs/queuePolicy:QueuePolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]

    assert policy.inputs["queueUrl"] == queue.state["url"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert (statement["Action"], statement["Resource"]) == ("sqs:SendMessage", queue.state["arn"])
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": seven.outputs["ruleArns"]}}
    assert sorted(seven.outputs["ruleArns"]) == sorted(r.state["arn"] for r in seven.of_type(RULE))


def test_the_stack_exports_the_rules_role_and_dead_letter_queue(seven):
    (queue,) = seven.of_type("aws:sqs/queue:Queue")
    (component,) = seven.of_type("nfw-blocklist:index:FindingForwarder")

    assert seven.outputs["deadLetterQueueUrl"] == queue.state["url"]
    assert seven.outputs["deadLetterQueueArn"] == queue.state["arn"]
    assert seven.outputs["roleArn"] == seven.by_name("nfw-blocklist-forwarder-role").state["arn"]
    assert set(component.outputs) == {
        "rule_arns",
        "role_arn",
        "dead_letter_queue_arn",
        "dead_letter_queue_url",
    }
    assert all(r.parent == component.urn for r in seven.resources if r.type.startswith("aws:"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, r"^nfw-blocklist-forwarder:targetBusArns is required"),
        ({"targetBusArns": "[]"}, r"^nfw-blocklist-forwarder:targetBusArns is required"),
        (
            {"targetBusArns": BUSES[0]},
            r"^nfw-blocklist-forwarder:targetBusArns must be a list of event bus ARNs",
        ),
        (
            {"targetBusArns": '["arn:aws:events:us-east-1:222233334444:event-bus/default"]'},
            "is a default event bus",
        ),
        ({"targetBusArns": '["arn:aws:sqs:us-east-1:222233334444:q"]'}, "is not an event bus ARN"),
        (
            {"targetBusArns": json.dumps(BUSES), "findingRegions": '["Europe"]'},
            r"^nfw-blocklist-forwarder:findingRegions must be a list of AWS region names",
        ),
        (
            {"targetBusArns": json.dumps(BUSES), "findingAccounts": '["1111"]'},
            r"^nfw-blocklist-forwarder:findingAccounts must be a list of 12-digit AWS account IDs",
        ),
        (
            {"targetBusArns": json.dumps(BUSES), "findingSource": "cloudtrail"},
            r"^nfw-blocklist-forwarder:findingSource must be one of securityhub, guardduty, both",
        ),
        (
            {"targetBusArns": json.dumps(BUSES), "adminEmail": "a@example.com"},
            r"^nfw-blocklist-forwarder:adminEmail is not a known setting",
        ),
        (
            {
                "targetBusArns": json.dumps(BUSES),
                "findingAccounts": json.dumps([f"{n:012d}" for n in range(200)]),
            },
            r"^nfw-blocklist-forwarder:findingAccounts is too long: it makes the securityhub event "
            r"pattern \d+ characters and EventBridge accepts 2048",
        ),
    ],
)
def test_each_invalid_forwarder_value_names_its_key_in_the_forwarders_namespace(values, message):
    with pytest.raises(InvalidConfig, match=message) as raised:
        ForwarderConfig.from_mapping(values)
    assert "\n" not in str(raised.value)


def test_a_bad_forwarder_config_stops_the_render_before_any_resource():
    with pytest.raises(InvalidConfig, match=r"targetBusArns .* is a default event bus"):
        render_stack(
            "example",
            {"targetBusArns": '["arn:aws:events:us-east-1:123456789012:event-bus/default"]'},
            project_dir=FORWARDER,
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target_bus_arns": []}, "target_bus_arns must be a non-empty list"),
        ({"target_bus_arns": BUSES[0]}, "target_bus_arns must be a non-empty list"),
        ({"target_bus_arns": ["arn:aws:events:us-east-1:1:event-bus/b"]}, "is not an event bus ARN"),
        ({"finding_source": "cloudtrail"}, "finding_source must be one of"),
        ({"action_types": ["dnsRequestAction"]}, "action_types must be drawn from"),
        ({"finding_regions": ["Europe"]}, "finding_regions must be AWS region names"),
        ({"finding_accounts": ["1"]}, "finding_accounts must be 12-digit account IDs"),
        ({"finding_accounts": [f"{n:012d}" for n in range(200)]}, "it makes the securityhub event pattern"),
    ],
)
def test_invalid_forwarder_arguments_are_refused_before_anything_is_created(changes, message):
    args = FindingForwarderArgs(target_bus_arns=BUSES)
    args.validate()
    for name, value in changes.items():
        setattr(args, name, value)

    with pytest.raises(ValueError, match=message):
        args.validate()
