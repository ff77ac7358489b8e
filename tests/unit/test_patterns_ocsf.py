"""The new Security Hub's event pattern ("Findings Imported V2", OCSF), decided by LocalStack's EventBridge
rule engine, as tests/unit/test_patterns.py decides the others."""

import copy
from typing import Any

import pytest
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from components.patterns import (
    FINDING_SOURCES,
    event_pattern_json,
    patterns_for,
    scoped_patterns_for,
    security_hub_v2_pattern,
)

OCSF_SAMPLES = (
    "securityhub-v2-guardduty-c2-finding.json",
    "securityhub-v2-guardduty-portprobe.json",
)
OCSF_DNS = "securityhub-v2-guardduty-dns-c2.json"


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    compiled = EventPatternCompiler().compile_event_pattern(pattern)
    return EventRuleEngine().evaluate_pattern_on_event(compiled, event)


def finding_of(event: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = event["detail"]["findings"][0]
    return found


@pytest.mark.parametrize("sample", OCSF_SAMPLES)
def test_the_v2_pattern_matches_guarddutys_ocsf_findings_naming_an_address(load_sample, sample):
    assert matches(security_hub_v2_pattern(), load_sample(sample))


def test_the_v2_pattern_matches_a_dns_finding_only_with_domains(load_sample):
    event = load_sample(OCSF_DNS)

    assert not matches(security_hub_v2_pattern(), event)
    assert matches(security_hub_v2_pattern(domains=True), event)


@pytest.mark.parametrize(
    "product",
    [
        {
            "name": "GuardDuty",
            "uid": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
        },
        {"name": "GuardDuty", "uid": "arn:aws:securityhub:us-east-1::product/aws/guardduty"},
        {"name": "GuardDuty"},
        {"name": "Inspector", "uid": "arn:aws:securityhub:us-east-1::productv2/aws/inspector"},
    ],
)
def test_the_v2_pattern_rejects_a_finding_that_is_not_guarddutys_own(load_sample, product):
    event = load_sample(OCSF_SAMPLES[0])
    finding_of(event)["metadata"]["product"] = product

    assert not matches(security_hub_v2_pattern(), event)


@pytest.mark.parametrize("partition_region", [("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-north-1")])
def test_the_v2_pattern_matches_guardduty_of_any_partition_and_region(load_sample, partition_region):
    partition, region = partition_region
    event = load_sample(OCSF_SAMPLES[0])
    finding_of(event)["metadata"]["product"]["uid"] = (
        f"arn:{partition}:securityhub:{region}::productv2/aws/guardduty"
    )

    assert matches(security_hub_v2_pattern(), event)


def test_the_v2_pattern_rejects_a_closed_finding(load_sample):
    event = load_sample(OCSF_SAMPLES[0])
    finding_of(event).update(activity_id=3, activity_name="Close")

    assert not matches(security_hub_v2_pattern(), event)


def test_the_v2_pattern_rejects_a_finding_without_an_endpoint_address(load_sample):
    event = load_sample(OCSF_SAMPLES[0])
    finding_of(event)["evidences"] = [{"connection_info": {"direction": "Outbound"}}]

    assert not matches(security_hub_v2_pattern(), event)


@pytest.mark.parametrize(
    "sample", [*OCSF_SAMPLES, "securityhub-guardduty-c2-finding.json", "guardduty-native-ipv4.json"]
)
def test_the_v2_pattern_and_the_others_never_match_each_others_shapes(load_sample, sample):
    event = load_sample(sample)
    chosen = {name for name, pattern in patterns_for("all").items() if matches(pattern, event)}

    assert len(chosen) == 1


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("securityhubv2", {"ocsf"}),
        ("guardduty+securityhubv2", {"guardduty", "ocsf"}),
        ("securityhub+securityhubv2", {"securityhub", "ocsf"}),
        ("all", {"securityhub", "guardduty", "ocsf"}),
        ("both", {"securityhub", "guardduty"}),
    ],
)
def test_finding_source_selects_the_new_security_hub_alone_and_with_the_others(source, names):
    assert set(patterns_for(source)) == names
    assert source in FINDING_SOURCES


def test_the_v2_pattern_is_scoped_to_the_findings_own_account_and_region(load_sample):
    pattern = scoped_patterns_for("securityhubv2", regions=["eu-west-1"], accounts=["111122223333"])["ocsf"]
    event = load_sample(OCSF_SAMPLES[0])

    assert not matches(pattern, event)
    finding_of(event)["cloud"]["region"] = "eu-west-1"
    assert not matches(pattern, event)
    finding_of(event)["cloud"]["account"]["uid"] = "111122223333"
    assert matches(pattern, event)
    # The envelope's account and region (the forwarder's or aggregator's) decide nothing.
    moved = copy.deepcopy(event)
    moved["account"], moved["region"] = "999999999999", "ap-south-1"
    assert matches(pattern, moved)


def test_every_source_pattern_fits_eventbridges_length_with_every_option():
    patterns = scoped_patterns_for(
        "all",
        ["awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"],
        regions=["us-east-1", "eu-west-1"],
        accounts=["111122223333"],
        domains=True,
    )

    assert all(len(event_pattern_json(pattern)) <= 2048 for pattern in patterns.values())
