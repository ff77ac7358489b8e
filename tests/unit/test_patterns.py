"""Event patterns, decided by LocalStack's EventBridge rule engine (it handles arrays of objects)."""

import copy
from typing import Any

import pytest
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from components.patterns import (
    guardduty_pattern,
    patterns_for,
    remote_ip_product_fields,
    security_hub_pattern,
)

V4 = "aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV4"
PROBE_V4 = "aws/guardduty/service/action/portProbeAction/portProbeDetails.0_/remoteIpDetails/ipAddressV4"
API_V4 = "aws/guardduty/service/action/awsApiCallAction/remoteIpDetails/ipAddressV4"


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    compiled = EventPatternCompiler().compile_event_pattern(pattern)
    return EventRuleEngine().evaluate_pattern_on_event(compiled, event)


def product_fields(event: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = event["detail"]["findings"][0]["ProductFields"]
    return fields


def test_security_hub_pattern_matches_the_reference_event(reference_event):
    assert matches(security_hub_pattern(), reference_event)


def test_security_hub_pattern_rejects_a_finding_without_a_remote_ip(reference_event):
    event = copy.deepcopy(reference_event)
    del product_fields(event)[V4]

    assert not matches(security_hub_pattern(), event)


def test_security_hub_pattern_matches_a_port_probe_with_only_a_probe_address(reference_event):
    event = copy.deepcopy(reference_event)
    product_fields(event)[PROBE_V4] = product_fields(event).pop(V4)

    assert matches(security_hub_pattern(), event)


def test_security_hub_pattern_ignores_api_call_addresses_unless_opted_in(reference_event):
    event = copy.deepcopy(reference_event)
    product_fields(event)[API_V4] = product_fields(event).pop(V4)

    assert not matches(security_hub_pattern(), event)
    assert matches(security_hub_pattern(["awsApiCallAction"]), event)


def test_security_hub_pattern_rejects_archived_findings(reference_event):
    event = copy.deepcopy(reference_event)
    event["detail"]["findings"][0]["RecordState"] = "ARCHIVED"

    assert not matches(security_hub_pattern(), event)


@pytest.mark.parametrize(
    "product_arn",
    [
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
        "arn:aws:securityhub:us-east-1::product/aws/inspector",
        "arn:aws:securityhub:us-east-1::product/aws/guardduty/x",
    ],
)
def test_security_hub_pattern_rejects_a_finding_named_guardduty_from_another_product(
    reference_event, product_arn
):
    # A custom integration may import a finding with ProductName "GuardDuty" naming any address.
    event = copy.deepcopy(reference_event)
    event["detail"]["findings"][0]["ProductArn"] = product_arn

    assert not matches(security_hub_pattern(), event)


@pytest.mark.parametrize(
    "product_arn",
    [
        "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
        "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty",
        "arn:aws-cn:securityhub:cn-north-1::product/aws/guardduty",
    ],
)
def test_security_hub_pattern_matches_guardduty_of_any_region_and_partition(reference_event, product_arn):
    event = copy.deepcopy(reference_event)
    event["detail"]["findings"][0]["ProductArn"] = product_arn

    assert matches(security_hub_pattern(), event)


@pytest.mark.parametrize(
    "sample", ["securityhub-guardduty-c2-finding.json", "securityhub-multi-findings.json"]
)
def test_security_hub_pattern_matches_every_shipped_security_hub_sample(load_sample, sample):
    assert matches(security_hub_pattern(), load_sample(sample))


def test_security_hub_pattern_asks_for_ipv4_and_ipv6_of_each_enabled_action():
    assert len(remote_ip_product_fields()) == 4
    assert len(remote_ip_product_fields(["kubernetesApiCallAction", "rdsLoginAttemptAction"])) == 8


@pytest.mark.parametrize(
    "sample",
    ["guardduty-native-ipv4.json", "guardduty-native-ipv6.json", "guardduty-native-portprobe.json"],
)
def test_guardduty_pattern_matches_native_findings_with_a_remote_host(load_sample, sample):
    assert matches(guardduty_pattern(), load_sample(sample))


def test_guardduty_pattern_rejects_dns_findings_which_carry_no_ip(load_sample):
    assert not matches(guardduty_pattern(), load_sample("guardduty-native-dns.json"))


def test_guardduty_pattern_matches_api_call_findings_only_when_opted_in(load_sample):
    event = load_sample("guardduty-native-ipv4.json")
    event["detail"]["service"]["action"]["actionType"] = "AWS_API_CALL"

    assert not matches(guardduty_pattern(), event)
    assert matches(guardduty_pattern(["awsApiCallAction"]), event)


@pytest.mark.parametrize("pattern", [security_hub_pattern(), guardduty_pattern()])
def test_patterns_reject_an_unrelated_event(load_sample, pattern):
    assert not matches(pattern, load_sample("unrelated-event.json"))


def test_security_hub_pattern_rejects_native_findings_and_the_reverse(load_sample, reference_event):
    assert not matches(security_hub_pattern(), load_sample("guardduty-native-ipv4.json"))
    assert not matches(guardduty_pattern(), reference_event)


@pytest.mark.parametrize(
    ("source", "names"),
    [("securityhub", ["securityhub"]), ("guardduty", ["guardduty"]), ("both", ["securityhub", "guardduty"])],
)
def test_finding_source_selects_the_patterns(source, names):
    assert list(patterns_for(source)) == names


def test_unknown_opt_in_action_is_refused():
    with pytest.raises(ValueError, match="unknown GuardDuty action types: dnsRequestAction"):
        security_hub_pattern(["dnsRequestAction"])
