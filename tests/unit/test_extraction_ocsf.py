"""Extraction of the new Security Hub's OCSF findings ("Findings Imported V2", docs/OCSF.md)."""

import copy
from typing import Any

import pytest

from handlers.extraction import extract
from handlers.model import FindingState, SkipReason, TargetKind
from handlers.policy import TargetPolicy
from handlers.securityhub import V2_RESOLVED_MARK

C2 = "securityhub-v2-guardduty-c2-finding.json"
PROBE = "securityhub-v2-guardduty-portprobe.json"
DNS = "securityhub-v2-guardduty-dns-c2.json"


def finding_of(event: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = event["detail"]["findings"][0]
    return found


def hosts(event: dict[str, Any]) -> list[tuple[object, str, TargetKind]]:
    return [(c.raw_host, c.action, c.kind) for c in extract(event).candidates]


def test_the_ocsf_c2_finding_names_its_outbound_remote_host_only(load_sample):
    assert hosts(load_sample(C2)) == [("198.51.100.0", "networkConnectionAction", TargetKind.ADDRESS)]


def test_the_ocsf_port_probe_names_every_prober_and_not_the_probed_instance(load_sample):
    assert hosts(load_sample(PROBE)) == [
        ("198.51.100.23", "portProbeAction", TargetKind.ADDRESS),
        ("198.51.100.87", "portProbeAction", TargetKind.ADDRESS),
        ("203.0.113.190", "portProbeAction", TargetKind.ADDRESS),
    ]


def test_the_ocsf_dns_finding_names_its_domain_once_from_the_query_and_the_endpoint(load_sample):
    assert hosts(load_sample(DNS)) == [("guarddutyc2activityb.com", "dnsRequestAction", TargetKind.DOMAIN)]


def test_an_evidence_without_a_direction_gives_both_endpoints_to_the_policy(load_sample):
    event = load_sample(C2)
    del finding_of(event)["evidences"][0]["connection_info"]

    assert [host for host, _, _ in hosts(event)] == ["10.0.0.23", "198.51.100.0"]


def test_every_endpoint_field_an_evidence_may_carry_is_read(load_sample):
    event = load_sample(C2)
    finding_of(event)["evidences"] = [
        {"dst_endpoint": {"ip": "2001:db8::7", "hostname": "a.example", "domain": "b.example"}},
        {
            "connection_info": {"direction_id": 1},
            "src_endpoint": {"ip": "198.51.100.9", "hostname": "c.example"},
        },
        {"query": {"hostname": "d.example"}},
    ]

    assert [host for host, _, _ in hosts(event)] == [
        "2001:db8::7",
        "198.51.100.9",
        "a.example",
        "b.example",
        "c.example",
        "d.example",
    ]


def test_the_ocsf_finding_is_keyed_on_guarddutys_own_id_and_read_from_its_own_fields(load_sample):
    ref = extract(load_sample(C2)).candidates[0].finding

    assert ref.id == load_sample("securityhub-guardduty-c2-finding.json")["detail"]["findings"][0]["Id"]
    assert ref.guardduty_id == "1234680e481690b44f7cc7e221abcdef"
    assert ref.type == "Backdoor:EC2/C&CActivity.B"
    assert (ref.account, ref.region, ref.state) == ("123456789012", "us-east-1", FindingState.ACTIVE)
    assert ref.severity == 7.0
    assert ref.product_arn == "arn:aws:securityhub:us-east-1::productv2/aws/guardduty"
    assert ref.source == "securityhubv2"


def test_the_same_finding_has_one_guardduty_id_in_every_shape(load_sample):
    native = load_sample("guardduty-native-portprobe.json")
    ocsf = load_sample(PROBE)

    assert {c.finding.guardduty_id for c in extract(native).candidates} == {
        c.finding.guardduty_id for c in extract(ocsf).candidates
    }
    asff = extract(load_sample("securityhub-guardduty-c2-finding.json")).candidates[0].finding
    assert asff.guardduty_id == extract(load_sample(C2)).candidates[0].finding.guardduty_id


@pytest.mark.parametrize(
    "product_uid",
    [
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
        "arn:aws:securityhub:us-east-1::product/aws/guardduty",
        "arn:aws:securityhub:us-east-1::productv2/aws/guardduty/extra",
        "arn:aws:securityhub:us-east-1::productv2/aws/inspector",
        None,
    ],
)
def test_a_finding_named_guardduty_by_another_product_blocks_nothing(load_sample, product_uid):
    event = load_sample(C2)
    product = finding_of(event)["metadata"]["product"]
    if product_uid is None:
        del product["uid"]
    else:
        product["uid"] = product_uid

    extraction = extract(event)

    assert extraction.candidates == []
    assert [skip.reason for skip in extraction.skipped] == [SkipReason.UNTRUSTED_PRODUCT]


def test_a_finding_of_another_product_is_not_guarddutys(load_sample):
    event = load_sample(C2)
    finding_of(event)["metadata"]["product"] = {
        "name": "Inspector",
        "uid": "arn:aws:securityhub:us-east-1::productv2/aws/inspector",
    }

    assert [skip.reason for skip in extract(event).skipped] == [SkipReason.UNSUPPORTED_EVENT]


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ({"activity_name": "Close", "activity_id": 3}, FindingState.ARCHIVED),
        ({"status_id": 5, "status": "Archived"}, FindingState.ARCHIVED),
        ({"status_id": 3, "status": "Suppressed"}, FindingState.SUPPRESSED),
        ({"status_id": 4, "status": "Resolved"}, FindingState.SUPPRESSED),
        ({"status_id": 2, "status": "In Progress"}, FindingState.ACTIVE),
        # A person's Resolved that left the tool's In Progress comment in place is the person's.
        (
            {"status_id": 4, "comment": "nfw-blocklist blocked 1 host: 198.51.100.0/32"},
            FindingState.SUPPRESSED,
        ),
        ({"status_id": 4, "comment": V2_RESOLVED_MARK + "nfw-blocklist blocked 1 host"}, FindingState.ACTIVE),
    ],
)
def test_the_ocsf_status_and_activity_give_the_finding_state(load_sample, change, state):
    event = load_sample(C2)
    finding_of(event).update(change)

    assert extract(event).candidates[0].finding.state is state


def test_a_malformed_ocsf_finding_is_skipped_not_raised(load_sample):
    event = load_sample(C2)
    finding = finding_of(event)
    finding["evidences"] = [None, 7, {"dst_endpoint": "x"}, {"connection_info": []}]
    finding["finding_info"] = {"uid": 5}
    finding["severity_id"] = "high"
    finding["cloud"] = []

    extraction = extract(event)

    assert extraction.candidates == []
    assert [skip.reason for skip in extraction.skipped] == [SkipReason.NO_REMOTE_IP]


def test_an_ocsf_event_whose_findings_are_not_a_list_is_unsupported(load_sample):
    event = copy.deepcopy(load_sample(C2))
    event["detail"]["findings"] = {}

    assert [skip.reason for skip in extract(event).skipped] == [SkipReason.UNSUPPORTED_EVENT]


@pytest.mark.parametrize("status_id", [[[1]], {"a": 1}, True, "4", 4.0, None])
def test_a_status_of_any_type_is_read_not_raised(load_sample, status_id):
    """Found by the soak fuzz: a list in ``status_id`` made the state lookup raise (unhashable)."""
    event = load_sample(C2)
    finding_of(event)["status_id"] = status_id

    assert len(extract(event).candidates) == 1


@pytest.mark.parametrize(
    ("source", "destination", "blocked"),
    [
        # The instance's own IPv6 address is global: with no direction, neither side can be told remote.
        ("2600:1f18:4a2:8c00::10", "2001:db8:1::5", []),
        ("203.0.113.10", "198.51.100.0", []),
        # A private (protected) side is the instance's: the other is the remote host.
        ("10.0.0.23", "198.51.100.0", ["198.51.100.0/32"]),
        ("10.0.0.23", "2001:db8:1::5", ["2001:db8:1::5/128"]),
    ],
)
def test_an_evidence_without_a_direction_never_blocks_a_side_that_may_be_the_accounts_own(
    load_sample, source, destination, blocked
):
    """Both endpoints of an undirected evidence went to the policy, which blocked every unprotected one:
    an instance's own public (IPv6) address with it, cutting the victim off."""
    event = load_sample(C2)
    evidence = finding_of(event)["evidences"][0]
    del evidence["connection_info"]
    evidence["src_endpoint"]["ip"], evidence["dst_endpoint"]["ip"] = source, destination

    targets, skipped = TargetPolicy().evaluate_all(extract(event).candidates)

    assert [target.host for target in targets] == blocked
    if not blocked:
        assert {skip.reason for skip in skipped} == {SkipReason.NO_REMOTE_IP}
        assert "direction" in skipped[0].detail


def test_an_address_one_evidence_names_as_remote_is_blocked_whatever_an_undirected_one_says(load_sample):
    event = load_sample(C2)
    evidence = finding_of(event)["evidences"][0]
    undirected = copy.deepcopy(evidence)
    del undirected["connection_info"]
    undirected["src_endpoint"]["ip"] = "2600:1f18:4a2:8c00::10"
    finding_of(event)["evidences"].append(undirected)

    targets, _ = TargetPolicy().evaluate_all(extract(event).candidates)

    assert [target.host for target in targets] == ["198.51.100.0/32"]


@pytest.mark.parametrize(
    "types",
    [
        ["AttackSequence:EC2/CompromisedInstanceGroup"],
        ["TTPs/AttackSequence:EC2.CompromisedInstanceGroup"],
        ["Backdoor:EC2/C&CActivity.B", "AttackSequence:EC2/CompromisedInstanceGroup"],
    ],
)
def test_an_attack_sequence_in_the_new_security_hub_blocks_none_of_its_endpoints(load_sample, types):
    """docs/ATTACK_SEQUENCES.md: an endpoint alone blocks nothing (it may be the resource's own, or a service
    it uses); only indicators do, and their OCSF shape is not documented. The OCSF reader read every
    evidence endpoint of any finding, an attack sequence's too."""
    event = load_sample(C2)
    finding_of(event)["finding_info"]["types"] = types

    extraction = extract(event)

    assert extraction.candidates == []
    assert [skip.reason for skip in extraction.skipped] == [SkipReason.NO_REMOTE_IP]
    assert "attack sequence" in extraction.skipped[0].detail
