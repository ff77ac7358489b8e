"""The receiving side: with acceptFindingsFrom, a finding bus whose policy admits only those senders, and on
it exactly the rules of the default bus (same patterns, same workflow, retries and dead-letter queue) but
the custom actions' rule: custom actions happen in this account's Security Hub, so only the default bus
carries them (docs/DESIGN.md "Steering")."""

import json
from typing import Any

import pytest
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from components.patterns import (
    ARCHIVED_SOURCE,
    CUSTOM_ACTIONS_SOURCE,
    custom_action_pattern,
    scope_pattern,
    scoped_patterns_for,
    security_hub_archived_pattern,
)
from nfw_blocklist.render import Rendered

BUS = "aws:cloudwatch/eventBus:EventBus"
BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ACCOUNTS = ["111122223333", "444455556666"]
ORG = "o-a1b2c3d4e5"
ORGANIZATION = {
    "acceptFindingsFrom": json.dumps([*ACCOUNTS, ORG]),
    "findingSource": "both",
    "findingRegions": '["us-east-1", "eu-west-1"]',
    "findingAccounts": json.dumps(ACCOUNTS),
}


@pytest.fixture(scope="module")
def org(render_dev) -> Rendered:
    return render_dev(**ORGANIZATION)


def _bus_policy(rendered: Rendered) -> dict[str, Any]:
    (policy,) = rendered.of_type(BUS_POLICY)
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


def check_bus_policy(
    document: dict[str, Any], bus_arn: str, accounts: list[str], organizations: list[str]
) -> None:
    """The finding bus admits exactly these senders, to exactly ``events:PutEvents`` on exactly this bus."""
    expected = []
    if accounts:
        expected.append(
            {
                "Sid": "AcceptFindingsFromAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                "Action": "events:PutEvents",
                "Resource": bus_arn,
            }
        )
    if organizations:
        expected.append(
            {
                "Sid": "AcceptFindingsFromOrganizations",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": bus_arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organizations}},
            }
        )
    assert document == {"Version": "2012-10-17", "Statement": expected}


@pytest.mark.parametrize(
    ("accepted", "accounts", "organizations"),
    [([*ACCOUNTS], ACCOUNTS, []), ([ORG], [], [ORG]), ([ACCOUNTS[0], ORG], ACCOUNTS[:1], [ORG])],
)
def test_the_bus_policy_admits_exactly_the_accepted_accounts_and_organizations(
    render_dev, accepted, accounts, organizations
):
    rendered = render_dev(acceptFindingsFrom=json.dumps(accepted))
    (bus,) = rendered.of_type(BUS)
    (policy,) = rendered.of_type(BUS_POLICY)

    assert policy.inputs["eventBusName"] == bus.state["name"], policy.urn
    check_bus_policy(_bus_policy(rendered), bus.state["arn"], accounts, organizations)


@pytest.mark.parametrize(
    "mistake",
    [
        lambda d: d["Statement"][0].update(Principal="*"),
        lambda d: d["Statement"][0].update(Principal={"AWS": ["arn:aws:iam::999988887777:root"]}),
        lambda d: d["Statement"][0].update(Resource="*"),
        lambda d: d["Statement"][0].update(Action="events:*"),
        lambda d: d["Statement"][1].pop("Condition"),
        lambda d: d["Statement"][1]["Condition"]["StringEquals"].update(
            {"aws:PrincipalOrgID": ["o-zzzzzzzzzz"]}
        ),
    ],
    ids=[
        "any-principal",
        "wrong-account",
        "wildcard-resource",
        "any-action",
        "no-org-condition",
        "wrong-org",
    ],
)
def test_a_mistake_in_the_bus_policy_fails_the_check(org, mistake):
    (bus,) = org.of_type(BUS)
    document = _bus_policy(org)
    check_bus_policy(document, bus.state["arn"], ACCOUNTS, [ORG])

    mistake(document)
    with pytest.raises(AssertionError):
        check_bus_policy(document, bus.state["arn"], ACCOUNTS, [ORG])


def _rules_by_bus(rendered: Rendered) -> dict[str | None, dict[str, Any]]:
    """bus name (None: default) -> source -> (pattern, target inputs without the rule and bus names)."""
    targets = {t.inputs["rule"]: t for t in rendered.of_type(TARGET)}
    found: dict[str | None, dict[str, Any]] = {}
    for rule in rendered.of_type(RULE):
        target = targets[rule.state["name"]]
        assert target.inputs.get("eventBusName") == rule.inputs.get("eventBusName"), target.urn
        source = rule.name.rsplit("-", 1)[-1]
        wiring = {k: v for k, v in target.inputs.items() if k not in {"rule", "eventBusName"}}
        found.setdefault(rule.inputs.get("eventBusName"), {})[source] = (
            json.loads(rule.inputs["eventPattern"]),
            wiring,
        )
    return found


def test_the_finding_bus_gets_exactly_the_default_buses_rules(org):
    (bus,) = org.of_type(BUS)
    rules = _rules_by_bus(org)

    assert set(rules) == {None, bus.state["name"]}
    default_but_custom_actions = {s: r for s, r in rules[None].items() if s != CUSTOM_ACTIONS_SOURCE}
    assert rules[bus.state["name"]] == default_but_custom_actions
    assert set(rules[None]) == {"securityhub", "guardduty", ARCHIVED_SOURCE, CUSTOM_ACTIONS_SOURCE}


def test_every_rule_matches_the_configured_filters_on_both_buses(org):
    (bus,) = org.of_type(BUS)
    findings = scoped_patterns_for("both", (), ["us-east-1", "eu-west-1"], ACCOUNTS, domains=True)
    forwarded = {
        **findings,
        ARCHIVED_SOURCE: scope_pattern(
            ARCHIVED_SOURCE, security_hub_archived_pattern(), ["us-east-1", "eu-west-1"], ACCOUNTS
        ),
    }
    actions = [a.state["arn"] for a in org.of_type("aws:securityhub/actionTarget:ActionTarget")]
    expected = {
        None: {**forwarded, CUSTOM_ACTIONS_SOURCE: custom_action_pattern(actions)},
        bus.state["name"]: forwarded,
    }
    rules = _rules_by_bus(org)
    assert {
        name: {source: pattern for source, (pattern, _) in by_source.items()}
        for name, by_source in rules.items()
    } == expected


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    compiled = EventPatternCompiler().compile_event_pattern(pattern)
    return EventRuleEngine().evaluate_pattern_on_event(compiled, event)


@pytest.mark.parametrize(
    ("account", "region", "released"),
    [
        (ACCOUNTS[0], "eu-west-1", True),
        (ACCOUNTS[1], "us-east-1", True),
        ("999988887777", "us-east-1", False),
        (ACCOUNTS[0], "ap-south-1", False),
    ],
)
def test_the_archived_rule_admits_only_findings_of_the_configured_accounts_and_regions(
    org, load_sample, account, region, released
):
    # An analyst's archive in an account or region the stack does not serve is not this stack's decision
    # to act on, as its findings were never this stack's to block.
    event = load_sample("securityhub-multi-findings.json")
    for finding in event["detail"]["findings"]:
        finding.update(AwsAccountId=account, Region=region, RecordState="ARCHIVED")
    archived = {bus: by_source[ARCHIVED_SOURCE][0] for bus, by_source in _rules_by_bus(org).items()}

    assert len(archived) == 2, "the default bus and the finding bus"
    for bus, pattern in archived.items():
        assert _matches(pattern, event) is released, (bus, account, region)


def test_the_finding_buses_targets_start_the_workflow_with_retries_and_the_dead_letter_queue(org):
    (bus,) = org.of_type(BUS)
    (queue,) = org.of_type("aws:sqs/queue:Queue")
    _, wiring = _rules_by_bus(org)[bus.state["name"]]["securityhub"]

    assert wiring["arn"] == org.by_name("nfw-blocklist-response").state["arn"]
    assert wiring["roleArn"] == org.by_name("nfw-blocklist-securityhub-target-role").state["arn"]
    assert wiring["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 185}
    assert wiring["deadLetterConfig"] == {"arn": queue.state["arn"]}


def test_the_dead_letter_queue_admits_the_rules_of_both_buses_and_no_other(org):
    (policy,) = org.of_type("aws:sqs/queuePolicy:QueuePolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]

    # Registration order is not fixed (components register children concurrently): compare as sets.
    assert set(statement["Condition"]) == {"ArnEquals"}
    assert sorted(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        r.state["arn"] for r in org.of_type(RULE)
    )
    bus_rules = [r for r in org.of_type(RULE) if r.inputs.get("eventBusName")]
    assert len(bus_rules) == 3, "securityhub, guardduty and archived (custom actions: default bus only)"
    assert all(f":rule/{r.inputs['eventBusName']}/" in r.state["arn"] for r in bus_rules)


def test_the_stack_exports_the_finding_bus_only_when_findings_are_accepted(render_dev, org):
    (bus,) = org.of_type(BUS)
    (component,) = org.of_type("nfw-blocklist:index:ResponseStateMachine")

    assert org.outputs["findingBusArn"] == bus.state["arn"] == component.outputs["finding_bus_arn"]
    plain = render_dev(findingRegions='["eu-west-1"]')
    assert "findingBusArn" not in plain.outputs
    assert plain.of_type(BUS) == plain.of_type(BUS_POLICY) == []
    assert "finding_bus_arn" not in plain.of_type("nfw-blocklist:index:ResponseStateMachine")[0].outputs


def test_the_filters_reach_the_functions_environment(org):
    variables = org.by_name("nfw-blocklist-record").inputs["environment"]["variables"]

    assert json.loads(variables["NFW_FINDING_REGIONS"]) == ["us-east-1", "eu-west-1"]
    assert json.loads(variables["NFW_FINDING_ACCOUNTS"]) == ACCOUNTS
