"""The annotation's content: Security Hub's limits hold whatever the hosts, the error or the names."""

import dataclasses
import json

import pytest

from handlers.errors import InvalidInput
from handlers.model import FindingRef, TargetKind
from handlers.payloads import security_hub_payload
from handlers.securityhub import (
    FIELD_VALUE_MAX,
    NOTE_TEXT_MAX,
    RESOLVED_MARKER_KEY,
    Annotation,
    KindReport,
    blocked_annotation,
    cause_message,
    check_annotation,
    failure_annotation,
    host_list,
    identifiers_of,
)
from handlers.settings import WorkflowStatus

EXPIRES = 1609852200  # 2021-01-05T13:10:00Z
GROUP = "nfw-blocklist-rules-3098a1b"
MANY = [f"2001:db8:{i:x}::{i:x}/128" for i in range(20)]


def address(hosts: list[str], count: int, group: str = GROUP) -> KindReport:
    return KindReport(TargetKind.ADDRESS, hosts, count, f"rule group {group}")


def test_an_address_blocked_beside_a_domain_refused_is_annotated_kind_by_kind_with_each_place():
    refused = KindReport(
        TargetKind.DOMAIN,
        ["evil.example"],
        1,
        "DNS Firewall domain list rslvr-fdl-1",
        "CapacityExceeded",
        "full",
    )

    annotation = blocked_annotation(
        [address(["198.51.100.7/32"], 1), refused], EXPIRES, WorkflowStatus.RESOLVED
    )

    assert annotation.note == (
        f"nfw-blocklist blocked 1 host: 198.51.100.7/32 in rule group {GROUP} until 2021-01-05 13:10 UTC. "
        "nfw-blocklist could NOT block 1 domain: evil.example in DNS Firewall domain list rslvr-fdl-1 "
        "(domains: CapacityExceeded: full)"
    )
    assert annotation.fields["nfw-blocklist:status"] == "partially-blocked"
    assert annotation.fields["nfw-blocklist:hosts"] == "198.51.100.7/32"
    assert annotation.fields["nfw-blocklist:not-blocked"] == (
        "1 domain: evil.example in DNS Firewall domain list rslvr-fdl-1"
    )
    assert "nfw-blocklist:domains" not in annotation.fields
    assert annotation.workflow_status is None  # a target left unblocked: the finding stays the analyst's
    check_annotation(annotation)


def test_a_blocked_domain_is_annotated_under_the_domain_fields_with_its_own_place():
    domain = KindReport(TargetKind.DOMAIN, ["evil.example"], 1, "DNS Firewall domain list rslvr-fdl-1")

    annotation = blocked_annotation([domain], EXPIRES, WorkflowStatus.NOTIFIED)

    assert annotation.note.startswith(
        "nfw-blocklist blocked 1 domain: evil.example in DNS Firewall domain list"
    )
    assert annotation.fields["nfw-blocklist:domains"] == "evil.example"
    assert annotation.fields["nfw-blocklist:domains-blocked-in"] == "DNS Firewall domain list rslvr-fdl-1"
    assert "nfw-blocklist:hosts" not in annotation.fields
    assert "nfw-blocklist:rule-group" not in annotation.fields


def test_a_blocked_annotation_says_which_hosts_until_when_and_where():
    annotation = blocked_annotation([address(["198.51.100.0/32"], 1)], EXPIRES, WorkflowStatus.NOTIFIED)

    assert annotation.request([{"Id": "f", "ProductArn": "p"}]) == {
        "FindingIdentifiers": [{"Id": "f", "ProductArn": "p"}],
        "Note": {
            "Text": f"nfw-blocklist blocked 1 host: 198.51.100.0/32 in rule group {GROUP} "
            "until 2021-01-05 13:10 UTC.",
            "UpdatedBy": "nfw-blocklist",
        },
        "UserDefinedFields": {
            "nfw-blocklist:status": "blocked",
            "nfw-blocklist:hosts": "198.51.100.0/32",
            "nfw-blocklist:host-count": "1",
            "nfw-blocklist:blocked-until": "2021-01-05T13:10:00Z",
            "nfw-blocklist:rule-group": f"rule group {GROUP}",
        },
        "Workflow": {"Status": "NOTIFIED"},
    }


def test_a_note_for_thousands_of_hosts_lists_whole_hosts_and_counts_the_rest_within_512_characters():
    annotation = blocked_annotation([address(MANY, 2614, "g" * 128)], EXPIRES, WorkflowStatus.NOTIFIED)

    assert len(annotation.note) <= NOTE_TEXT_MAX
    assert "blocked 2614 hosts: 2001:db8:0::0/128, " in annotation.note
    assert " more) in rule group ggg" in annotation.note
    assert annotation.note.endswith(" until 2021-01-05 13:10 UTC.")
    assert all(len(value) <= FIELD_VALUE_MAX for value in annotation.fields.values())
    check_annotation(annotation)


@pytest.mark.parametrize(
    ("hosts", "count", "limit", "expected"),
    [
        (["a", "b"], 2, 100, "a, b"),
        (["a", "b"], 5, 100, "a, b (+3 more)"),
        (["aaaa", "bbbb"], 2, 12, "aaaa, bbbb"),
        (["aaaa", "bbbb"], 3, 14, "aaaa (+2 more)"),
        (["aaaa", "bbbb"], 3, 12, "3 hosts"),
    ],
)
def test_host_lists_hold_whole_hosts_only(hosts, count, limit, expected):
    assert host_list(hosts, count, limit) == expected
    assert len(expected) <= limit


@pytest.mark.parametrize(
    ("status", "workflow", "marked"),
    [
        (WorkflowStatus.NOTIFIED, "NOTIFIED", False),
        (WorkflowStatus.RESOLVED, "RESOLVED", True),
        (WorkflowStatus.NONE, None, False),
    ],
)
def test_the_workflow_status_follows_the_setting(status, workflow, marked):
    annotation = blocked_annotation([address(["198.51.100.0/32"], 1)], EXPIRES, status)

    assert annotation.workflow_status == workflow
    assert ("Workflow" in annotation.request([])) is (workflow is not None)
    assert (RESOLVED_MARKER_KEY in annotation.fields) is marked


def test_a_failure_note_says_the_block_failed_and_why_from_the_lambda_errors_message():
    cause = json.dumps(
        {"errorType": "ConfigurationError", "errorMessage": "rule at 30000 is not ours\n" + "x" * 2000}
    )

    annotation = failure_annotation([address(MANY, 40)], "ConfigurationError", cause)

    assert annotation.note.startswith("nfw-blocklist could not block 40 hosts: 2001:db8:0::0/128, ")
    assert f"in rule group {GROUP} of this finding: " in annotation.note
    assert "ConfigurationError: rule at 30000 is not ours x" in annotation.note
    assert len(annotation.note) <= NOTE_TEXT_MAX
    assert annotation.workflow_status is None
    assert annotation.fields["nfw-blocklist:status"] == "block-failed"
    check_annotation(annotation)


@pytest.mark.parametrize(
    ("cause", "expected"), [("", "no cause given"), ("plain text", "plain text"), (None, "no cause given")]
)
def test_a_cause_that_is_not_a_lambda_error_is_kept_as_text(cause, expected):
    assert cause_message(cause) == expected


@pytest.mark.parametrize(
    "annotation",
    [
        Annotation(note="", fields={}),
        Annotation(note="n" * 513, fields={}),
        Annotation(note="n", fields={f"k{i}": "v" for i in range(51)}),
        Annotation(note="n", fields={"k" * 129: "v"}),
        Annotation(note="n", fields={"k": "v" * 1025}),
    ],
)
def test_an_annotation_security_hub_would_refuse_is_refused_before_the_call(annotation):
    with pytest.raises(ValueError, match=r"Note\.Text|UserDefinedFields"):
        check_annotation(annotation)


def finding(
    finding_id: str = "f-1", product_arn: str = "arn:aws:securityhub:us-east-1::product/aws/guardduty"
):
    return FindingRef(finding_id, "t", 8.0, "123456789012", "us-east-1", 0.0, product_arn=product_arn)


def test_the_record_payload_carries_exact_identifiers_of_security_hub_findings_only():
    payload = security_hub_payload([finding(), finding("native", product_arn=""), finding("x" * 513)], 99.5)

    assert payload == {
        "annotate": True,
        "security_hub": {
            "findings": [{"Id": "f-1", "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty"}],
            "count": 1,
            "expires_at": 99,
            "other_fields": 0,
        },
    }


def test_native_findings_leave_nothing_to_annotate():
    assert security_hub_payload([finding(product_arn="")], 99) == {"annotate": False, "security_hub": None}


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"security_hub": None},
        {"security_hub": {"findings": []}},
        {"security_hub": {"findings": [{"Id": "f"}]}},
    ],
)
def test_the_annotate_step_refuses_a_record_without_identifiers(record):
    with pytest.raises(InvalidInput, match="finding identifier"):
        identifiers_of(record)


# --- within what is left of the finding's 50 UserDefinedFields -----------------------------------


@pytest.mark.parametrize(
    ("room", "kept"),
    [
        (50, ["status", "hosts", "blocked-until", "host-count", "rule-group"]),
        (3, ["status", "hosts", "blocked-until"]),
        (1, ["status"]),
        (0, []),
    ],
)
def test_an_annotation_keeps_its_most_useful_fields_within_the_room_left(room, kept):
    annotation = blocked_annotation([address(["198.51.100.0/32"], 1)], EXPIRES, WorkflowStatus.NOTIFIED)

    fitted = annotation.within(room)

    assert [key.removeprefix("nfw-blocklist:") for key in fitted.fields] == kept
    assert (fitted.note, fitted.workflow_status) == (annotation.note, "NOTIFIED")
    assert ("UserDefinedFields" in fitted.request([])) is bool(kept)


def test_a_resolution_without_room_for_its_marker_leaves_the_workflow_alone():
    annotation = blocked_annotation([address(["198.51.100.0/32"], 1)], EXPIRES, WorkflowStatus.RESOLVED)

    assert annotation.within(1).fields == {RESOLVED_MARKER_KEY: "RESOLVED"}
    assert annotation.within(1).workflow_status == "RESOLVED"
    # RESOLVED without the marker would read as an analyst's resolution and hide every later sighting.
    assert (annotation.within(0).workflow_status, annotation.within(0).fields) == (None, {})


def test_the_record_payload_says_how_many_fields_the_findings_hold_besides_the_tools():
    crowded = dataclasses.replace(finding("f-2"), other_fields=47)

    payload = security_hub_payload([finding(), crowded], 99)

    assert payload["security_hub"]["other_fields"] == 47
