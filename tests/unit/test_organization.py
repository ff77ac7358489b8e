"""Organization scale, pure: the bus and role documents, the identifiers, and the finding filters.

The filters run in two places that must agree: the event patterns (decided here by LocalStack's
EventBridge rule engine, which handles arrays of objects) and the record step's policy.
"""

import copy
import json
from typing import Any

import pytest
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from components.aws_limits import EVENT_BUS_POLICY_CHARS
from components.organization import (
    bus_arn_problem,
    chunks,
    finding_bus_policy,
    finding_bus_policy_json,
    finding_bus_policy_overflow,
    forwarder_role_policy,
    forwarder_trust_policy,
    is_principal,
)
from components.patterns import patterns_for, scoped_patterns_for
from handlers.extraction import extract
from handlers.model import SkipReason
from handlers.policy import TargetPolicy
from handlers.settings import Settings

BUS = "arn:aws:events:eu-west-1:222233334444:event-bus/nfw-blocklist-findings-0a1b2c3"
ORG = "o-a1b2c3d4e5"


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    compiled = EventPatternCompiler().compile_event_pattern(pattern)
    return EventRuleEngine().evaluate_pattern_on_event(compiled, event)


# --- The finding bus's resource policy ---


def test_accounts_are_allowed_as_their_root_principal_to_put_events_on_this_bus_only():
    assert finding_bus_policy(BUS, ["111122223333", "444455556666"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AcceptFindingsFromAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]},
                "Action": "events:PutEvents",
                "Resource": BUS,
            }
        ],
    }


def test_an_organization_is_allowed_through_aws_principal_org_id_only():
    assert finding_bus_policy(BUS, [ORG]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AcceptFindingsFromOrganizations",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": BUS,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": [ORG]}},
            }
        ],
    }


def test_accounts_and_an_organization_get_one_statement_each_and_duplicates_count_once():
    statements = finding_bus_policy(BUS, ["111122223333", ORG, "111122223333"])["Statement"]

    assert [s["Sid"] for s in statements] == ["AcceptFindingsFromAccounts", "AcceptFindingsFromOrganizations"]
    assert statements[0]["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert statements[1]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": [ORG]}}


def test_the_principals_partition_is_the_buses():
    policy = finding_bus_policy(BUS.replace("arn:aws:", "arn:aws-us-gov:"), ["111122223333"])

    assert policy["Statement"][0]["Principal"] == {"AWS": ["arn:aws-us-gov:iam::111122223333:root"]}


def test_a_bus_policy_without_principals_is_refused():
    with pytest.raises(ValueError, match="needs at least one account or organization ID"):
        finding_bus_policy(BUS, [])


def test_the_bus_policy_size_check_measures_the_string_the_resource_receives():
    accounts = [f"{n:012d}" for n in range(1, 400)]
    fitting = accounts[: next(n for n in range(400) if finding_bus_policy_overflow(accounts[: n + 1]))]

    assert finding_bus_policy_overflow(fitting) is None
    assert len(finding_bus_policy_json(BUS, fitting)) <= EVENT_BUS_POLICY_CHARS
    assert finding_bus_policy_overflow(accounts) == len(
        finding_bus_policy_json(
            "arn:aws-us-gov:events:ap-southeast-5:123456789012:event-bus/" + "b" * 64, accounts
        )
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("111122223333", True),
        ("o-a1b2c3d4e5", True),
        ("o-" + "a" * 32, True),
        ("11112222333", False),
        ("1111222233334", False),
        ("o-a1b2c3d4e", False),
        ("o-A1B2C3D4E5", False),
        ("o-" + "a" * 33, False),
        ("r-abcd", False),
        ("*", False),
        ("arn:aws:iam::111122223333:root", False),
    ],
)
def test_principals_are_account_ids_or_organization_ids(value, accepted):
    assert is_principal(value) is accepted


# --- The forwarder's role ---


def test_the_forwarder_role_may_only_put_events_on_exactly_the_target_buses():
    other = BUS.replace("eu-west-1", "us-east-1")

    assert forwarder_role_policy([BUS, other, BUS]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ForwardFindings",
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": [BUS, other],
            }
        ],
    }


def test_only_eventbridge_acting_for_the_forwarders_own_account_may_assume_its_role():
    assert forwarder_trust_policy("111122223333") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
            }
        ],
    }


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        (BUS, None),
        ("arn:aws-cn:events:cn-north-1:222233334444:event-bus/b", None),
        ("arn:aws:events:eu-west-1:222233334444:event-bus/default", "is a default event bus"),
        ("arn:aws:events:eu-west-1:222233334444:rule/b", "is not an event bus ARN"),
        ("arn:aws:events:eu-west-1:22223333444:event-bus/b", "is not an event bus ARN"),
        ("arn:aws:events:eu-west-1:222233334444:event-bus/a/b", "is not an event bus ARN"),
        ("arn:aws:sqs:eu-west-1:222233334444:event-bus/b", "is not an event bus ARN"),
        ("nfw-blocklist-findings", "is not an event bus ARN"),
    ],
)
def test_a_target_must_be_a_custom_event_bus_arn(arn, problem):
    found = bus_arn_problem(arn)
    assert (found is None) if problem is None else (problem in str(found))


def test_targets_are_split_into_groups_of_at_most_five_in_order():
    assert list(chunks(list(range(11)))) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10]]
    assert list(chunks([1, 2, 3, 4, 5])) == [[1, 2, 3, 4, 5]]


# --- The finding filters: patterns and the record step agree ---


def test_without_filters_the_scoped_patterns_are_the_patterns():
    assert scoped_patterns_for("both", ["awsApiCallAction"]) == patterns_for("both", ["awsApiCallAction"])


def test_security_hub_scope_filters_on_the_findings_own_account_and_region(load_sample):
    event = load_sample("securityhub-multi-findings.json")
    (pattern,) = scoped_patterns_for("securityhub", (), ["us-east-1"], ["123456789012"]).values()

    assert pattern["detail"]["findings"]["Region"] == ["us-east-1"]
    assert pattern["detail"]["findings"]["AwsAccountId"] == ["123456789012"]
    assert matches(pattern, event)
    for finding in event["detail"]["findings"]:
        finding["Region"] = "eu-west-1"
    assert not matches(pattern, event)


def test_a_security_hub_finding_without_a_region_matches_no_region_filter(reference_event):
    # The reference sample predates ASFF's Region field; the envelope's region must not stand in for it.
    assert "Region" not in reference_event["detail"]["findings"][0]
    (scoped,) = scoped_patterns_for("securityhub", (), [reference_event["region"]]).values()

    assert matches(patterns_for("securityhub")["securityhub"], reference_event)
    assert not matches(scoped, reference_event)


def test_a_forwarded_event_is_filtered_on_the_finding_not_on_the_envelope(load_sample):
    # The security account forwards from its aggregation region: the envelope names it, the finding does not.
    event = load_sample("securityhub-multi-findings.json")
    event["account"], event["region"] = "999988887777", "ap-south-1"
    (pattern,) = scoped_patterns_for("securityhub", (), ["us-east-1"], ["123456789012"]).values()

    assert matches(pattern, event)


def test_native_guardduty_scope_filters_on_detail_account_id_and_region(load_sample):
    event = load_sample("guardduty-native-ipv4.json")
    (pattern,) = scoped_patterns_for("guardduty", (), ["us-east-1"], ["123456789012"]).values()

    assert pattern["detail"]["region"] == ["us-east-1"]
    assert pattern["detail"]["accountId"] == ["123456789012"]
    assert matches(pattern, event)
    assert not matches(pattern, {**event, "detail": {**event["detail"], "region": "eu-west-1"}})
    assert not matches(pattern, {**event, "detail": {**event["detail"], "accountId": "111122223333"}})


def _policy(**filters: Any) -> TargetPolicy:
    return TargetPolicy.from_settings(Settings(table_name="t", rule_group_arn="g", **filters))


def _skip_reasons(policy: TargetPolicy, event: dict[str, Any]) -> tuple[list[str], list[str]]:
    targets, skipped = policy.evaluate_all(extract(event).candidates)
    return sorted(t.host for t in targets), sorted(str(s.reason) for s in skipped)


def _two_region_security_hub_event(load_sample) -> dict[str, Any]:
    """One Security Hub event, two findings: one found in us-east-1, one in eu-west-1 of another account."""
    event = load_sample("securityhub-multi-findings.json")
    second = event["detail"]["findings"][1]
    second["Region"], second["AwsAccountId"] = "eu-west-1", "111122223333"
    return event


def test_one_security_hub_event_with_findings_from_two_regions_blocks_only_the_included_region(load_sample):
    event = _two_region_security_hub_event(load_sample)
    (pattern,) = scoped_patterns_for("securityhub", (), ["us-east-1"]).values()
    first, second = event["detail"]["findings"]

    # The pattern lets the event through: one of its findings is in the region.
    assert matches(pattern, event)
    hosts, reasons = _skip_reasons(_policy(finding_regions=("us-east-1",)), event)
    excluded = len(_skip_reasons(_policy(), {**event, "detail": {"findings": [second]}})[0])
    assert hosts == _skip_reasons(_policy(), {**event, "detail": {"findings": [first]}})[0]
    assert reasons == ["region-not-included"] * excluded
    assert excluded > 0


def test_one_security_hub_event_with_findings_of_two_accounts_blocks_only_the_included_account(load_sample):
    event = _two_region_security_hub_event(load_sample)
    second = event["detail"]["findings"][1]

    hosts, reasons = _skip_reasons(_policy(finding_accounts=("111122223333",)), event)

    assert hosts == _skip_reasons(_policy(), {**event, "detail": {"findings": [second]}})[0]
    assert set(reasons) == {"account-not-included"}


@pytest.mark.parametrize(
    ("filters", "reason"),
    [
        ({"finding_regions": ("eu-west-1",)}, SkipReason.REGION_NOT_INCLUDED),
        ({"finding_accounts": ("111122223333",)}, SkipReason.ACCOUNT_NOT_INCLUDED),
        (
            {"finding_regions": ("eu-west-1",), "finding_accounts": ("111122223333",)},
            SkipReason.REGION_NOT_INCLUDED,
        ),
    ],
)
def test_a_native_finding_outside_the_filters_is_skipped_with_its_reason(load_sample, filters, reason):
    event = load_sample("guardduty-native-ipv4.json")

    hosts, reasons = _skip_reasons(_policy(**filters), event)

    assert (hosts, reasons) == ([], [str(reason)])


def test_a_native_finding_inside_the_filters_is_blocked(load_sample):
    event = load_sample("guardduty-native-ipv4.json")
    # The envelope says another account and region (a forwarded event); the finding's own fields decide.
    event["account"], event["region"] = "999988887777", "ap-south-1"

    hosts, reasons = _skip_reasons(
        _policy(finding_regions=("us-east-1",), finding_accounts=("123456789012",)), event
    )

    assert hosts == _skip_reasons(_policy(), event)[0] != []
    assert reasons == []


def test_the_filters_reach_the_functions_through_their_environment():
    settings = Settings(
        table_name="t", rule_group_arn="g", finding_regions=("eu-west-1",), finding_accounts=("111122223333",)
    )
    environment = {"NFW_TABLE_NAME": "t", "NFW_RULE_GROUP_ARN": "g", **settings.policy_environment()}

    assert json.loads(environment["NFW_FINDING_REGIONS"]) == ["eu-west-1"]
    assert Settings.from_env(environment) == settings


def test_without_filters_the_environment_carries_no_filter_variables():
    environment = Settings(table_name="t", rule_group_arn="g").policy_environment()

    assert not {"NFW_FINDING_REGIONS", "NFW_FINDING_ACCOUNTS"} & set(environment)


def test_scoping_does_not_change_the_pattern_it_was_given():
    original = patterns_for("securityhub")["securityhub"]
    before = copy.deepcopy(original)
    scoped_patterns_for("securityhub", (), ["eu-west-1"], ["111122223333"])

    assert original == before
