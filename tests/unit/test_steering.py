"""Telling a person's decision about a finding from everything else the response receives."""

import copy
from typing import Any

import pytest

from handlers.securityhub import RESOLVED_MARKER_KEY, STATUS_KEY, TOOL
from handlers.steering import UNKNOWN_PERSON, Intent, UnreadableAction, decision_of, read_steer
from nfw_blocklist.findings import native_finding, sample

ACTION_ARN = "arn:aws:securityhub:us-east-1:123456789012:action/custom/{}"


def imported(**changes: Any) -> dict[str, Any]:
    event = sample("securityhub-guardduty-c2-finding.json")
    event["detail"]["findings"][0].update(changes)
    return event


def custom_action(action_id: str) -> dict[str, Any]:
    event = imported()
    event["detail-type"] = "Security Hub Findings - Custom Action"
    event["resources"] = [ACTION_ARN.format(action_id)]
    event["detail"] = {"actionName": "x", "actionDescription": "x", "findings": event["detail"]["findings"]}
    return event


@pytest.mark.parametrize(
    ("changes", "how"),
    [
        ({"Workflow": {"Status": "SUPPRESSED"}}, "suppressed in Security Hub"),
        ({"Workflow": {"Status": "RESOLVED"}}, "resolved in Security Hub"),
        ({"RecordState": "ARCHIVED"}, "archived"),
    ],
)
def test_a_persons_suppression_resolution_or_archive_is_a_release(changes: dict, how: str) -> None:
    steer = decision_of(imported(**changes))

    assert steer is not None and steer.intent is Intent.RELEASE
    assert steer.how.startswith(how)
    assert steer.findings == (imported()["detail"]["findings"][0]["Id"],)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"Workflow": {"Status": "NOTIFIED"}, "Note": {"Text": "blocked", "UpdatedBy": TOOL}},
        {"Workflow": {"Status": "RESOLVED"}, "UserDefinedFields": {RESOLVED_MARKER_KEY: "RESOLVED"}},
        {"Workflow": {"Status": "SUPPRESSED"}, "UserDefinedFields": {STATUS_KEY: "released"}},
        {
            "Workflow": {"Status": "SUPPRESSED"},
            "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
        },
        {"Workflow": "SUPPRESSED"},
    ],
)
def test_the_tools_own_status_an_active_finding_or_a_forgery_is_no_decision(changes: dict) -> None:
    assert decision_of(imported(**changes)) is None


def test_who_decided_is_the_persons_note_when_there_is_one() -> None:
    noted = decision_of(imported(Workflow={"Status": "SUPPRESSED"}, Note={"Text": "fp", "UpdatedBy": "bob"}))
    ours = decision_of(imported(Workflow={"Status": "SUPPRESSED"}, Note={"Text": "x", "UpdatedBy": TOOL}))

    assert noted is not None and noted.who == "bob"
    assert ours is not None and ours.who == UNKNOWN_PERSON


def test_an_archived_native_guardduty_finding_is_a_release() -> None:
    event = native_finding("198.51.100.7", finding_id="gd-1")
    event["detail"]["service"]["archived"] = True

    steer = decision_of(event)

    assert steer is not None and (steer.intent, steer.findings) == (Intent.RELEASE, ("gd-1",))
    assert decision_of(native_finding("198.51.100.7")) is None


@pytest.mark.parametrize(
    ("action_id", "intent"),
    [
        ("NfwBlockNow1a2b3c", Intent.BLOCK_NOW),
        ("NfwUnblock1a2b3c", Intent.RELEASE),
        ("NfwExtend1a2b3c", Intent.EXTEND),
    ],
)
def test_the_stacks_custom_actions_carry_their_intent(action_id: str, intent: Intent) -> None:
    steer = decision_of(custom_action(action_id))

    assert steer is not None and steer.intent is intent


@pytest.mark.parametrize("resources", [[ACTION_ARN.format("SomeoneElses")], [], "x", [7]])
def test_another_custom_action_is_refused_not_read_as_a_sighting(resources: object) -> None:
    event = custom_action("NfwUnblock1a2b3c")
    event["resources"] = resources

    with pytest.raises(UnreadableAction, match="not one of the stack's custom actions"):
        decision_of(event)


@pytest.mark.parametrize("count", [0, 21])
def test_a_custom_action_on_no_or_too_many_guardduty_findings_is_refused(count: int) -> None:
    event = custom_action("NfwUnblock1a2b3c")
    event["detail"]["findings"] = event["detail"]["findings"] * count

    with pytest.raises(UnreadableAction, match=f"names {count} GuardDuty findings: at most 20"):
        decision_of(event)


def test_a_decision_survives_the_trip_between_the_steps() -> None:
    steer = decision_of(custom_action("NfwExtend1a2b3c"))
    assert steer is not None

    assert read_steer(copy.deepcopy(steer.to_payload())) == steer


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "must be an object"),
        ({"intent": "explode", "findings": ["f"]}, "intent"),
        ({"intent": "release", "findings": []}, "findings"),
        ({"intent": "release", "findings": ["f"] * 21}, "findings"),
        ({"intent": "release", "findings": ["f"], "security_hub": [{"Id": 1}]}, "security_hub"),
    ],
)
def test_a_malformed_decision_is_refused_naming_what_is_wrong(payload: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_steer(payload)


def test_a_custom_action_names_no_one_whoever_wrote_the_findings_last_note() -> None:
    """The action writes no note: the finding's last note (days old, another analyst's) named its author as
    the one who pressed "Unblock", in the e-mail and the ledger's ReleasedBy."""
    event = custom_action("NfwUnblock1a2b3c")
    event["detail"]["findings"][0]["Note"] = {"Text": "looked at it", "UpdatedBy": "bob"}

    steer = decision_of(event)

    assert steer is not None and steer.who == UNKNOWN_PERSON
