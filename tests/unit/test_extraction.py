"""Finding extraction from Security Hub (ASFF) and native GuardDuty events."""

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers import clock
from handlers.extraction import EARLIEST_TIME, LATEST_TIME, event_time, extract
from handlers.model import FindingState, SkipReason, TargetKind
from nfw_blocklist.findings import ip_and_domain_finding, security_hub_ip_and_domain_finding

REFERENCE_FINDING_ID = (
    "arn:aws:guardduty:us-east-1:123456789012:detector/012343feb722b1388a5ddc6dd4abcdef"
    "/finding/1234680e481690b44f7cc7e221abcdef"
)
NETWORK_V4 = "aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV4"
NETWORK_V6 = "aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV6"
FROZEN_NOW = 1_800_000_000.0
GUARDDUTY = {"source": "aws.guardduty", "detail-type": "GuardDuty Finding"}
NATIVE_HOST = {
    "service": {"action": {"networkConnectionAction": {"remoteIpDetails": {"ipAddressV4": "203.0.113.1"}}}}
}


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    clock.set_clock(lambda: FROZEN_NOW)
    yield
    clock.set_clock(None)


@pytest.fixture
def reference_finding(reference_event: dict[str, Any]) -> dict[str, Any]:
    finding: dict[str, Any] = reference_event["detail"]["findings"][0]
    return finding


# --- The reference event ---------------------------------------------------------------------------


def test_reference_event_yields_its_remote_host(reference_event: dict[str, Any]) -> None:
    extraction = extract(reference_event)

    assert [c.raw_host for c in extraction.candidates] == ["198.51.100.0"]
    assert extraction.skipped == []


def test_reference_event_candidate_comes_from_the_network_connection(reference_event: dict[str, Any]) -> None:
    (candidate,) = extract(reference_event).candidates

    assert candidate.action == "networkConnectionAction"


def test_reference_event_finding_carries_id_type_severity_account_region(
    reference_event: dict[str, Any],
) -> None:
    finding = extract(reference_event).candidates[0].finding

    assert finding.id == REFERENCE_FINDING_ID
    assert finding.type == "Backdoor:EC2.C&CActivity.B"
    assert finding.severity == 8.0
    assert finding.account == "123456789012"
    assert finding.region == "us-east-1"
    assert finding.state == FindingState.ACTIVE


def test_reference_event_last_seen_is_event_last_seen_in_epoch_seconds(
    reference_event: dict[str, Any],
) -> None:
    finding = extract(reference_event).candidates[0].finding

    assert finding.last_seen == pytest.approx(1609809301.549)


def test_extraction_does_not_modify_the_event(reference_event: dict[str, Any]) -> None:
    before = copy.deepcopy(reference_event)

    extract(reference_event)

    assert reference_event == before


# --- Security Hub details --------------------------------------------------------------------------


def test_every_finding_of_a_security_hub_event_is_extracted(load_sample: Callable[[str], Any]) -> None:
    extraction = extract(load_sample("securityhub-multi-findings.json"))

    assert [(c.raw_host, c.action) for c in extraction.candidates] == [
        ("203.0.113.14", "portProbeAction"),
        ("198.51.100.201", "portProbeAction"),
        ("2001:db8:4006:812::200e", "networkConnectionAction"),
    ]


def test_each_security_hub_candidate_carries_its_own_finding(load_sample: Callable[[str], Any]) -> None:
    candidates = extract(load_sample("securityhub-multi-findings.json")).candidates

    assert [(c.finding.type, c.finding.severity) for c in candidates] == [
        ("Recon:EC2.PortProbeUnprotectedPort", 5.0),
        ("Recon:EC2.PortProbeUnprotectedPort", 5.0),
        ("Backdoor:EC2.C&CActivity.B", 8.0),
    ]


def test_port_probe_details_are_read_in_index_order_whatever_the_key_order(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    probe = "aws/guardduty/service/action/portProbeAction/portProbeDetails.{}_/remoteIpDetails/ipAddressV4"
    reference_finding["ProductFields"] = {
        probe.format(10): "203.0.113.10",
        probe.format(2): "203.0.113.2",
        probe.format(0): "203.0.113.0",
        "aws/securityhub/ProductName": "GuardDuty",
    }

    hosts = [c.raw_host for c in extract(reference_event).candidates]

    assert hosts == ["203.0.113.0", "203.0.113.2", "203.0.113.10"]


def test_a_finding_with_both_ipv4_and_ipv6_yields_both(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["ProductFields"][NETWORK_V6] = "2001:db8::7"

    hosts = [c.raw_host for c in extract(reference_event).candidates]

    assert hosts == ["198.51.100.0", "2001:db8::7"]


@pytest.mark.parametrize(
    "action", ["awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"], ids=str
)
def test_opt_in_action_hosts_are_extracted_with_their_action_name(
    action: str, reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    fields = reference_finding["ProductFields"]
    del fields[NETWORK_V4]
    fields[f"aws/guardduty/service/action/{action}/remoteIpDetails/ipAddressV4"] = "203.0.113.66"

    (candidate,) = extract(reference_event).candidates

    assert (candidate.raw_host, candidate.action) == ("203.0.113.66", action)


def test_unknown_actions_remote_ips_are_ignored(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    fields = reference_finding["ProductFields"]
    fields["aws/guardduty/service/action/futureAction/remoteIpDetails/ipAddressV4"] = "203.0.113.1"

    assert [c.raw_host for c in extract(reference_event).candidates] == ["198.51.100.0"]


def test_types_namespace_is_stripped_whatever_its_depth(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["Types"] = ["TTPs/Command and Control/Backdoor:EC2.C&CActivity.B!DNS"]

    assert extract(reference_event).candidates[0].finding.type == "Backdoor:EC2.C&CActivity.B!DNS"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ({"Product": 8, "Normalized": 20, "Label": "LOW"}, 8.0),
        ({"Product": 5.5}, 5.5),
        ({"Normalized": 70, "Label": "LOW"}, 7.0),
        ({"Product": "nan", "Normalized": 40}, 4.0),
        ({"Product": True, "Normalized": 90}, 9.0),
        ({"Label": "CRITICAL"}, 9.0),
        ({"Label": "HIGH"}, 7.0),
        ({"Label": "medium"}, 4.0),
        ({"Label": "LOW"}, 1.0),
        ({"Label": "INFORMATIONAL"}, 0.0),
        ({}, 0.0),
    ],
    ids=lambda value: str(value),
)
def test_severity_prefers_product_then_normalized_then_label(
    severity: dict[str, Any],
    expected: float,
    reference_finding: dict[str, Any],
    reference_event: dict[str, Any],
) -> None:
    reference_finding["Severity"] = severity

    assert extract(reference_event).candidates[0].finding.severity == expected


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ({"Product": 10**400, "Normalized": 60}, 6.0),
        ({"Product": 1e127, "Label": "LOW"}, 1.0),
        ({"Product": "1e300"}, 0.0),
        ({"Product": 10.5}, 0.0),
        ({"Product": -1, "Normalized": 30}, 3.0),
        ({"Normalized": 10**400, "Label": "HIGH"}, 7.0),
        ({"Normalized": 1e127}, 0.0),
        ({"Normalized": -5, "Label": "MEDIUM"}, 4.0),
    ],
    ids=lambda value: str(value)[:40],
)
def test_a_severity_off_guardduty_scale_counts_as_unknown(
    severity: dict[str, Any],
    expected: float,
    reference_finding: dict[str, Any],
    reference_event: dict[str, Any],
) -> None:
    # Unknown, as if absent: the next source decides, and with none the severity is 0, which a
    # minSeverity filter skips. A forged scale can neither raise nor outrank a real severity.
    reference_finding["Severity"] = severity

    assert extract(reference_event).candidates[0].finding.severity == expected


@pytest.mark.parametrize("severity", [10**400, -(10**400), 1e127, 11, -0.5, "1e308"], ids=str)
def test_a_native_severity_off_guardduty_scale_counts_as_zero(
    load_sample: Callable[[str], Any], severity: object
) -> None:
    event = load_sample("guardduty-native-ipv4.json")
    event["detail"]["severity"] = severity

    assert extract(event).candidates[0].finding.severity == 0.0


def test_the_top_of_guardduty_scale_is_a_severity() -> None:
    event = {**GUARDDUTY, "detail": {"severity": 10, **NATIVE_HOST}}

    assert extract(event).candidates[0].finding.severity == 10.0


@pytest.mark.parametrize(
    "time",
    [
        "9999-12-31T23:59:59-05:00",  # past datetime's range once the offset is applied
        "9999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "1969-12-31T23:59:59Z",
    ],
)
def test_a_time_out_of_range_counts_as_unknown(load_sample: Callable[[str], Any], time: str) -> None:
    event = load_sample("guardduty-native-ipv4.json")
    event["detail"]["service"]["eventLastSeen"] = time
    event["detail"]["updatedAt"] = time
    event["time"] = time

    assert extract(event).candidates[0].finding.last_seen == FROZEN_NOW


def test_an_out_of_range_time_falls_through_to_the_next_source(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["ProductFields"]["aws/guardduty/service/eventLastSeen"] = "9999-12-31T23:59:59-05:00"
    reference_finding["LastObservedAt"] = "2021-01-05T02:00:00Z"

    assert extract(reference_event).candidates[0].finding.last_seen == epoch("2021-01-05T02:00:00")


def test_the_last_seen_bounds_are_the_epoch_and_year_2100() -> None:
    assert event_time("1970-01-01T00:00:00Z") == EARLIEST_TIME == 0.0
    assert event_time("2099-12-31T23:59:59Z") == LATEST_TIME - 1
    assert event_time("2100-01-01T00:00:00Z") is None


def test_last_seen_falls_back_to_last_observed_at(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    del reference_finding["ProductFields"]["aws/guardduty/service/eventLastSeen"]
    reference_finding["LastObservedAt"] = "2021-01-05T02:00:00Z"

    assert extract(reference_event).candidates[0].finding.last_seen == epoch("2021-01-05T02:00:00")


def test_last_seen_falls_back_to_updated_at(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    del reference_finding["ProductFields"]["aws/guardduty/service/eventLastSeen"]
    del reference_finding["LastObservedAt"]
    reference_finding["UpdatedAt"] = "2021-01-05T03:00:00.250Z"

    assert extract(reference_event).candidates[0].finding.last_seen == epoch("2021-01-05T03:00:00.250")


def test_unparseable_times_fall_back_to_the_clock(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["ProductFields"]["aws/guardduty/service/eventLastSeen"] = "yesterday"
    reference_finding["LastObservedAt"] = 12
    reference_finding["UpdatedAt"] = None
    reference_event["time"] = ["2021"]

    assert extract(reference_event).candidates[0].finding.last_seen == FROZEN_NOW


def test_account_and_region_fall_back_to_the_event(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    del reference_finding["AwsAccountId"]
    reference_event["account"] = "210987654321"
    reference_event["region"] = "eu-west-1"

    finding = extract(reference_event).candidates[0].finding

    assert (finding.account, finding.region) == ("210987654321", "eu-west-1")


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"RecordState": "ARCHIVED"}, FindingState.ARCHIVED),
        ({"Workflow": {"Status": "SUPPRESSED"}}, FindingState.SUPPRESSED),
        ({"Workflow": {"Status": "RESOLVED"}}, FindingState.SUPPRESSED),
        ({"Workflow": None, "WorkflowState": "RESOLVED"}, FindingState.SUPPRESSED),
        ({"Workflow": {"Status": "NOTIFIED"}}, FindingState.ACTIVE),
        ({"RecordState": "ARCHIVED", "Workflow": {"Status": "SUPPRESSED"}}, FindingState.ARCHIVED),
    ],
    ids=lambda value: str(value),
)
def test_security_hub_record_and_workflow_state_set_the_finding_state(
    changes: dict[str, Any],
    state: FindingState,
    reference_finding: dict[str, Any],
    reference_event: dict[str, Any],
) -> None:
    reference_finding.update(changes)

    assert extract(reference_event).candidates[0].finding.state == state


def test_guardduty_archived_product_field_marks_the_finding_archived(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["ProductFields"]["aws/guardduty/service/archived"] = "true"

    assert extract(reference_event).candidates[0].finding.state == FindingState.ARCHIVED


def test_a_finding_is_recognised_as_guardduty_by_its_product_arn_alone(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    del reference_finding["ProductFields"]["aws/securityhub/ProductName"]

    assert [c.raw_host for c in extract(reference_event).candidates] == ["198.51.100.0"]


def test_a_finding_from_another_product_is_skipped_as_unsupported(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["ProductArn"] = "arn:aws:securityhub:us-east-1::product/aws/inspector"
    reference_finding["ProductFields"]["aws/securityhub/ProductName"] = "Inspector"

    extraction = extract(reference_event)

    assert extraction.candidates == []
    assert [(s.reason, s.finding_id) for s in extraction.skipped] == [
        (SkipReason.UNSUPPORTED_EVENT, REFERENCE_FINDING_ID)
    ]


@pytest.mark.parametrize(
    "product_arn",
    [
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
        "arn:aws:securityhub:us-east-1:123456789012:product/aws/guardduty",
        "arn:aws:securityhub:us-east-1::product/aws/guardduty/extra",
        "x/aws/guardduty",
        "arn:aws:securityhub:us-east-1::product/aws/guardduty\n",
        None,
        ["arn:aws:securityhub:us-east-1::product/aws/guardduty"],
    ],
    ids=repr,
)
def test_a_finding_named_guardduty_without_guardduty_product_arn_is_skipped_as_untrusted(
    reference_finding: dict[str, Any], reference_event: dict[str, Any], product_arn: object
) -> None:
    # A custom integration (securityhub:BatchImportFindings) may set ProductName "GuardDuty".
    reference_finding["ProductArn"] = product_arn
    reference_finding["ProductFields"][NETWORK_V4] = "8.8.8.8"

    extraction = extract(reference_event)

    assert extraction.candidates == []
    [skip] = extraction.skipped
    assert (skip.reason, skip.finding_id) == (SkipReason.UNTRUSTED_PRODUCT, REFERENCE_FINDING_ID)
    assert "ProductArn" in skip.detail


@pytest.mark.parametrize(
    "product_arn",
    [
        "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
        "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty",
        "arn:aws-cn:securityhub:cn-north-1::product/aws/guardduty",
        "arn:aws:securityhub:ap-southeast-5::product/aws/guardduty",
    ],
)
def test_guardduty_product_arn_of_any_region_and_partition_is_trusted(
    reference_finding: dict[str, Any], reference_event: dict[str, Any], product_arn: str
) -> None:
    reference_finding["ProductArn"] = product_arn

    assert [c.raw_host for c in extract(reference_event).candidates] == ["198.51.100.0"]


def test_every_shipped_security_hub_sample_carries_guardduty_product_arn(
    load_sample: Callable[[str], Any],
) -> None:
    for name in ("securityhub-guardduty-c2-finding.json", "securityhub-multi-findings.json"):
        extraction = extract(load_sample(name))
        assert extraction.candidates, name
        assert SkipReason.UNTRUSTED_PRODUCT not in [s.reason for s in extraction.skipped], name


def test_a_security_hub_finding_without_remote_ip_is_skipped_naming_the_action_type(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    fields = reference_finding["ProductFields"]
    del fields[NETWORK_V4]
    fields["aws/guardduty/service/action/actionType"] = "DNS_REQUEST"

    (skip,) = extract(reference_event).skipped

    assert (skip.host, skip.reason, skip.finding_id) == ("", SkipReason.NO_REMOTE_IP, REFERENCE_FINDING_ID)
    assert "DNS_REQUEST" in skip.detail


def test_an_empty_address_counts_as_no_remote_ip(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["ProductFields"][NETWORK_V4] = ""

    assert [s.reason for s in extract(reference_event).skipped] == [SkipReason.NO_REMOTE_IP]


def test_a_malformed_address_is_kept_for_the_policy_to_reject(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_finding["ProductFields"][NETWORK_V4] = "999.1.1.1"

    assert [c.raw_host for c in extract(reference_event).candidates] == ["999.1.1.1"]


def test_duplicate_hosts_are_kept_as_separate_candidates(
    reference_finding: dict[str, Any], reference_event: dict[str, Any]
) -> None:
    reference_event["detail"]["findings"].append(copy.deepcopy(reference_finding))

    assert [c.raw_host for c in extract(reference_event).candidates] == ["198.51.100.0", "198.51.100.0"]


def test_custom_action_events_are_read_like_imported_findings(reference_event: dict[str, Any]) -> None:
    reference_event["detail-type"] = "Security Hub Findings - Custom Action"

    assert [c.raw_host for c in extract(reference_event).candidates] == ["198.51.100.0"]


# --- Native GuardDuty ------------------------------------------------------------------------------


def test_native_ipv4_finding_yields_its_remote_host_and_finding(load_sample: Callable[[str], Any]) -> None:
    (candidate,) = extract(load_sample("guardduty-native-ipv4.json")).candidates

    assert (candidate.raw_host, candidate.action) == ("203.0.113.45", "networkConnectionAction")
    assert candidate.finding.id == "a4c7e1f2b3d4e5f6a7b8c9d0e1f2a3b4"
    assert candidate.finding.type == "Backdoor:EC2/C&CActivity.B"
    assert candidate.finding.severity == 8.0
    assert (candidate.finding.account, candidate.finding.region) == ("123456789012", "us-east-1")
    assert candidate.finding.last_seen == epoch("2024-05-14T10:19:52")
    assert candidate.finding.state == FindingState.ACTIVE


def test_native_ipv6_finding_yields_its_ipv6_host(load_sample: Callable[[str], Any]) -> None:
    (candidate,) = extract(load_sample("guardduty-native-ipv6.json")).candidates

    assert candidate.raw_host == "2001:db8:85a3::8a2e:370:7334"
    assert candidate.finding.last_seen == epoch("2024-05-14T10:20:15.125")


def test_native_port_probe_yields_every_remote_host(load_sample: Callable[[str], Any]) -> None:
    candidates = extract(load_sample("guardduty-native-portprobe.json")).candidates

    assert [(c.raw_host, c.action) for c in candidates] == [
        ("198.51.100.23", "portProbeAction"),
        ("198.51.100.87", "portProbeAction"),
        ("203.0.113.190", "portProbeAction"),
    ]
    assert {c.finding.severity for c in candidates} == {2.0}


def test_native_dns_finding_names_its_domain(load_sample: Callable[[str], Any]) -> None:
    extraction = extract(load_sample("guardduty-native-dns.json"))

    assert [(c.raw_host, c.action, c.finding.id) for c in extraction.candidates] == [
        ("c2.example.com", "dnsRequestAction", "d7f0b4c5e6a7b8c9d0e1f2a3b4c5d6e7")
    ]
    assert extraction.skipped == []


def test_native_archived_finding_is_marked_archived(load_sample: Callable[[str], Any]) -> None:
    (candidate,) = extract(load_sample("guardduty-native-archived.json")).candidates

    assert candidate.finding.state == FindingState.ARCHIVED


@pytest.mark.parametrize(
    "action", ["awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"], ids=str
)
def test_native_opt_in_action_hosts_are_extracted_with_their_action_name(
    action: str, load_sample: Callable[[str], Any]
) -> None:
    event = load_sample("guardduty-native-ipv4.json")
    event["detail"]["service"]["action"] = {action: {"remoteIpDetails": {"ipAddressV6": "2001:db8::66"}}}

    (candidate,) = extract(event).candidates

    assert (candidate.raw_host, candidate.action) == ("2001:db8::66", action)


def test_unrelated_event_is_skipped_as_unsupported(load_sample: Callable[[str], Any]) -> None:
    extraction = extract(load_sample("unrelated-event.json"))

    assert extraction.candidates == []
    assert [(s.host, s.reason) for s in extraction.skipped] == [("", SkipReason.UNSUPPORTED_EVENT)]


# --- Hostile shapes --------------------------------------------------------------------------------

SECURITY_HUB = {"source": "aws.securityhub", "detail-type": "Security Hub Findings - Imported"}
GUARDDUTY_ARN = "arn:aws:securityhub:us-east-1::product/aws/guardduty"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (None, SkipReason.UNSUPPORTED_EVENT),
        ("a string", SkipReason.UNSUPPORTED_EVENT),
        ([SECURITY_HUB], SkipReason.UNSUPPORTED_EVENT),
        ({}, SkipReason.UNSUPPORTED_EVENT),
        ({"source": ["aws.guardduty"], "detail-type": {}}, SkipReason.UNSUPPORTED_EVENT),
        (
            {"source": "aws.guardduty", "detail-type": "GuardDuty Runtime Protection Health"},
            SkipReason.UNSUPPORTED_EVENT,
        ),
        ({**SECURITY_HUB}, SkipReason.UNSUPPORTED_EVENT),
        ({**SECURITY_HUB, "detail": "findings"}, SkipReason.UNSUPPORTED_EVENT),
        ({**SECURITY_HUB, "detail": {"findings": {"0": {}}}}, SkipReason.UNSUPPORTED_EVENT),
        ({**SECURITY_HUB, "detail": {"findings": []}}, SkipReason.UNSUPPORTED_EVENT),
        ({**SECURITY_HUB, "detail": {"findings": [None]}}, SkipReason.UNSUPPORTED_EVENT),
        ({**SECURITY_HUB, "detail": {"findings": [{"ProductFields": []}]}}, SkipReason.UNSUPPORTED_EVENT),
        (
            {**SECURITY_HUB, "detail": {"findings": [{"ProductArn": 7, "ProductFields": {1: "GuardDuty"}}]}},
            SkipReason.UNSUPPORTED_EVENT,
        ),
        (
            {
                **SECURITY_HUB,
                "detail": {"findings": [{"ProductArn": GUARDDUTY_ARN, "ProductFields": "GD"}]},
            },
            SkipReason.NO_REMOTE_IP,
        ),
        (
            {
                **SECURITY_HUB,
                "detail": {
                    "findings": [
                        {
                            "ProductArn": GUARDDUTY_ARN,
                            "Types": "Backdoor",
                            "Severity": [8],
                            "Workflow": "RESOLVED",
                            "ProductFields": {NETWORK_V4: None, 5: "203.0.113.1"},
                        }
                    ]
                },
            },
            SkipReason.NO_REMOTE_IP,
        ),
        ({**GUARDDUTY}, SkipReason.UNSUPPORTED_EVENT),
        ({**GUARDDUTY, "detail": ["finding"]}, SkipReason.UNSUPPORTED_EVENT),
        ({**GUARDDUTY, "detail": {}}, SkipReason.NO_REMOTE_IP),
        ({**GUARDDUTY, "detail": {"service": "x"}}, SkipReason.NO_REMOTE_IP),
        ({**GUARDDUTY, "detail": {"service": {"action": []}}}, SkipReason.NO_REMOTE_IP),
        (
            {
                **GUARDDUTY,
                "detail": {"service": {"action": {"portProbeAction": {"portProbeDetails": {"0": 1}}}}},
            },
            SkipReason.NO_REMOTE_IP,
        ),
        (
            {
                **GUARDDUTY,
                "detail": {"service": {"action": {"portProbeAction": {"portProbeDetails": [1, None]}}}},
            },
            SkipReason.NO_REMOTE_IP,
        ),
        (
            {
                **GUARDDUTY,
                "detail": {"service": {"action": {"networkConnectionAction": {"remoteIpDetails": "1"}}}},
            },
            SkipReason.NO_REMOTE_IP,
        ),
    ],
    ids=lambda value: repr(value)[:60],
)
def test_malformed_events_end_as_a_skip_never_an_exception(event: Any, reason: SkipReason) -> None:
    extraction = extract(event)

    assert extraction.candidates == []
    assert [s.reason for s in extraction.skipped] == [reason]


def test_wrongly_typed_native_fields_still_yield_the_host_with_neutral_values() -> None:
    event = {
        **GUARDDUTY,
        "account": 5,
        "detail": {
            "id": 5,
            "type": None,
            "severity": "high",
            "service": {
                "archived": "no",
                "eventLastSeen": 1,
                "action": {"networkConnectionAction": {"remoteIpDetails": {"ipAddressV4": 12345}}},
            },
        },
    }

    (candidate,) = extract(event).candidates

    assert candidate.raw_host == 12345
    assert (candidate.finding.id, candidate.finding.type, candidate.finding.severity) == ("", "", 0.0)
    assert candidate.finding.state == FindingState.ACTIVE
    assert candidate.finding.last_seen == FROZEN_NOW


# --- what the loop guard reads: the provider's update time and content ---------------------------


def finding_of(event: dict[str, Any]) -> Any:
    return extract(event).candidates[0].finding


@pytest.mark.parametrize(
    "updated_at",
    [
        None,
        "",
        "soon",
        "9999-12-31T23:59:59Z",
        1609809301,
        datetime.fromtimestamp(FROZEN_NOW + 2 * 86400, UTC).isoformat(),
    ],
    ids=["missing", "empty", "unparsable", "far-future", "not-text", "two-days-ahead-of-the-clock"],
)
def test_an_updated_at_the_guard_cannot_order_by_is_unknown(
    reference_event: dict[str, Any], updated_at: object
) -> None:
    reference_event["detail"]["findings"][0]["UpdatedAt"] = updated_at

    assert finding_of(reference_event).updated_at is None


def test_an_updated_at_slightly_ahead_of_the_clock_is_still_read(reference_event: dict[str, Any]) -> None:
    ahead = datetime.fromtimestamp(FROZEN_NOW + 3600, UTC).isoformat()
    reference_event["detail"]["findings"][0]["UpdatedAt"] = ahead

    assert finding_of(reference_event).updated_at == FROZEN_NOW + 3600


@pytest.mark.parametrize(
    "annotated",
    [
        {"Note": {"Text": "nfw-blocklist blocked 1 host", "UpdatedBy": "nfw-blocklist"}},
        {"UserDefinedFields": {"nfw-blocklist:status": "blocked"}},
        {"Workflow": {"Status": "NOTIFIED"}, "WorkflowState": "NOTIFIED"},
        {"ProcessedAt": "2021-01-05T03:00:00.000Z", "Severity": {"Label": "LOW"}, "Types": ["x"]},
        {"Confidence": 10, "Criticality": 10, "VerificationState": "TRUE_POSITIVE"},
    ],
    ids=["note", "fields", "workflow", "processed-severity-types", "confidence-criticality-verification"],
)
def test_the_echo_of_any_batch_update_findings_has_the_same_provider_state(
    reference_event: dict[str, Any], annotated: dict[str, Any]
) -> None:
    echo = copy.deepcopy(reference_event)
    echo["detail"]["findings"][0].update(annotated)

    assert finding_of(echo).provider_state == finding_of(reference_event).provider_state


@pytest.mark.parametrize(
    "field, value",
    [
        ("LastObservedAt", "2021-01-05T02:30:00.000Z"),
        ("UpdatedAt", "not a time either"),
        ("ProductFields", {"aws/guardduty/service/count": "3"}),
        ("RecordState", "ARCHIVED"),
    ],
)
def test_a_provider_update_changes_the_provider_state(
    reference_event: dict[str, Any], field: str, value: object
) -> None:
    updated = copy.deepcopy(reference_event)
    finding = updated["detail"]["findings"][0]
    finding[field] = {**finding[field], **value} if isinstance(value, dict) else value

    assert finding_of(updated).provider_state != finding_of(reference_event).provider_state


def test_other_user_defined_fields_are_counted_without_the_tools_own(reference_event: dict[str, Any]) -> None:
    others = {f"team:{n}": "x" for n in range(47)}
    reference_event["detail"]["findings"][0]["UserDefinedFields"] = {
        **others,
        "nfw-blocklist:status": "blocked",
        "nfw-blocklist:hosts": "198.51.100.0/32",
    }

    assert finding_of(reference_event).other_fields == 47


def test_a_finding_naming_an_ip_and_a_domain_gives_one_candidate_of_each_kind() -> None:
    for event in (
        ip_and_domain_finding("203.0.113.1", "evil.example"),
        security_hub_ip_and_domain_finding("203.0.113.1", "evil.example"),
    ):
        extraction = extract(event)

        assert [(c.raw_host, c.kind) for c in extraction.candidates] == [
            ("203.0.113.1", TargetKind.ADDRESS),
            ("evil.example", TargetKind.DOMAIN),
        ]
