"""The table of AWS name rules and the registry of taken names, checked against botocore's own models."""

import json
import re

import botocore.loaders
import pytest

from components.aws_limits import NAME_RULES, STATE_PAYLOAD_BYTES, iam_policy_chars
from nfw_blocklist.sandbox.core import event_entry_size
from nfw_blocklist.sandbox.limits import NameRefused, NameRegistry, NameTaken, state_payload_within

BOTOCORE_SHAPES = {
    # type token: (service, shape of the name in the API model)
    "aws:iam/role:Role": ("iam", "roleNameType"),
    "aws:iam/policy:Policy": ("iam", "policyNameType"),
    "aws:iam/rolePolicy:RolePolicy": ("iam", "policyNameType"),
    "aws:networkfirewall/ruleGroup:RuleGroup": ("network-firewall", "ResourceName"),
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": ("network-firewall", "ResourceName"),
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": ("route53resolver", "Name"),
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": ("route53resolver", "Name"),
    "aws:route53/resolverFirewallRule:ResolverFirewallRule": ("route53resolver", "Name"),
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": (
        "route53resolver",
        "Name",
    ),
    "aws:cloudwatch/eventRule:EventRule": ("events", "RuleName"),
    "aws:cloudwatch/eventBus:EventBus": ("events", "NonPartnerEventBusName"),
    "aws:scheduler/schedule:Schedule": ("scheduler", "Name"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "LogGroupName"),
    "aws:dynamodb/table:Table": ("dynamodb", "TableName"),
    "aws:sfn/stateMachine:StateMachine": ("stepfunctions", "Name"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "AlarmName"),
}
"""Lambda, SQS and SNS names are documented in prose only (Lambda's shape is the 140-character ARN)."""


@pytest.mark.parametrize(("type_", "where"), sorted(BOTOCORE_SHAPES.items()))
def test_the_name_rule_has_botocores_lengths_and_accepts_its_pattern(type_, where):
    service, shape_name = where
    shape = botocore.loaders.Loader().load_service_model(service, "service-2")["shapes"][shape_name]
    rule = NAME_RULES[type_]

    # Route 53 Resolver's Name gives no minimum; its pattern needs one character.
    assert (rule.min_length, rule.max_length) == (shape.get("min", 1), shape["max"]), type_
    if "pattern" in shape:
        sample = "Ab-9" if re.fullmatch(shape["pattern"].strip("^$"), "Ab-9") else "ab9"
        assert rule.problem(sample) is None


@pytest.mark.parametrize("type_", sorted(NAME_RULES))
def test_a_name_of_the_maximum_length_is_accepted_and_one_more_character_is_refused(type_):
    rule = NAME_RULES[type_]

    assert rule.problem("a" * rule.max_length) is None
    assert "characters; AWS allows" in str(rule.problem("a" * (rule.max_length + 1)))
    assert rule.problem("a" * (rule.min_length - 1)) is not None


@pytest.mark.parametrize(
    ("type_", "name"),
    [
        ("aws:networkfirewall/ruleGroup:RuleGroup", "under_score"),
        ("aws:lambda/function:Function", "dot.ted"),
        ("aws:iam/role:Role", "sp ace"),
        ("aws:sfn/stateMachine:StateMachine", "a/b"),
        ("aws:cloudwatch/logGroup:LogGroup", "a:b"),
        ("aws:sqs/queue:Queue", "q.fif"),
        ("aws:sns/topic:Topic", "t:1"),
        ("aws:dynamodb/table:Table", "ta ble"),
        ("aws:scheduler/schedule:Schedule", "s/1"),
        ("aws:cloudwatch/eventRule:EventRule", "r:1"),
        ("aws:cloudwatch/eventBus:EventBus", "a/b"),
        ("aws:cloudwatch/eventBus:EventBus", "default"),
    ],
)
def test_characters_outside_the_types_charset_are_refused(type_, name):
    assert "characters AWS refuses" in str(NAME_RULES[type_].problem(name))


def test_iam_names_are_unique_per_account_across_regions():
    registry = NameRegistry()
    registry.claim("aws:iam/role:Role", "r", "urn:a", account="1", region="us-east-1")

    with pytest.raises(NameTaken, match=r"urn:b: IAM role name 'r' is already taken in account 1 by urn:a"):
        registry.claim("aws:iam/role:Role", "r", "urn:b", account="1", region="eu-west-1")
    registry.claim("aws:iam/role:Role", "r", "urn:c", account="2", region="us-east-1")


def test_regional_names_are_unique_per_account_and_region():
    registry = NameRegistry()
    registry.claim("aws:dynamodb/table:Table", "tab", "urn:a", account="1", region="us-east-1")
    registry.claim("aws:dynamodb/table:Table", "tab", "urn:b", account="1", region="eu-west-1")

    with pytest.raises(NameTaken, match="account 1 region us-east-1 by urn:a"):
        registry.claim("aws:dynamodb/table:Table", "tab", "urn:c", account="1", region="us-east-1")


def test_inline_policy_names_are_unique_per_role():
    registry = NameRegistry()
    claim = registry.claim
    claim("aws:iam/rolePolicy:RolePolicy", "p", "urn:a", account="1", region="r", within="role-1")
    claim("aws:iam/rolePolicy:RolePolicy", "p", "urn:b", account="1", region="r", within="role-2")

    with pytest.raises(NameTaken, match="in role 'role-1' by urn:a"):
        claim("aws:iam/rolePolicy:RolePolicy", "p", "urn:c", account="1", region="r", within="role-1")


def test_a_refused_name_is_not_recorded():
    registry = NameRegistry()
    with pytest.raises(NameRefused):
        registry.claim("aws:lambda/function:Function", "bad name", "urn:a", account="1", region="r")

    assert registry.holders == {}


def test_types_without_a_name_rule_are_not_checked():
    registry = NameRegistry()
    registry.claim("aws:kms/key:Key", "any name at all", "urn:a", account="1", region="r")
    registry.claim("aws:kms/key:Key", "any name at all", "urn:b", account="1", region="r")


def test_state_payloads_are_measured_in_utf8_bytes_up_to_256_kib_inclusive():
    assert state_payload_within("x" * STATE_PAYLOAD_BYTES)
    assert not state_payload_within("x" * (STATE_PAYLOAD_BYTES + 1))
    assert not state_payload_within("é" * (STATE_PAYLOAD_BYTES // 2 + 1))


def test_state_data_is_measured_as_compact_unescaped_json():
    # {"a":"é…"} compact: 8 bytes around the value; with spaces or \u escapes it would be more.
    at_limit = {"a": "é" * ((STATE_PAYLOAD_BYTES - 8) // 2)}

    assert state_payload_within(at_limit)
    assert not state_payload_within({"a": "é" * ((STATE_PAYLOAD_BYTES - 8) // 2 + 1)})


def test_the_putevents_entry_size_counts_time_source_detail_type_detail_and_resources():
    event = {
        "id": "not counted",
        "account": "not counted",
        "time": "2021-01-05T01:15:01Z",
        "source": "src",
        "detail-type": "dt",
        "resources": ["arn:1", "é"],
        "detail": {"a": 1},
    }

    assert event_entry_size(event) == 14 + 3 + 2 + len('{"a":1}') + 5 + 2


def test_iam_counts_a_policy_without_the_white_space_between_its_tokens_but_with_its_strings_whole():
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "a b", "Effect": "Allow", "Action": "*"}]}
    compact = json.dumps(document, separators=(",", ":"))

    assert iam_policy_chars(json.dumps(document, indent=4)) == iam_policy_chars(document) == len(compact)
    assert '"a b"' in compact, "white space inside a string counts (the conservative reading)"
