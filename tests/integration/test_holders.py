"""Which findings and manual blocks hold each host: a finding's release ends only its own holds."""

import uuid

import pytest

from handlers import clock
from handlers.errors import InvalidInput, LedgerUnavailable
from handlers.ledger import FindingHolds, holder_of
from handlers.securityhub import Annotation, v2_request
from handlers.service import BlocklistService
from nfw_blocklist.findings import native_finding, port_probe_finding, sample, security_hub_finding
from tests.integration import stack
from tests.integration.stack import START, FakeTime

HOUR = 3600.0
RETENTION = 720 * 60


def sight(service: BlocklistService, event: dict) -> dict:
    """The response workflow: RecordHosts, then SteerHosts for a decision, then BlockHosts if anything
    was recorded (as components/definitions.py routes them)."""
    recorded = service.record(event)
    if "steer" in recorded:
        service.steer(recorded)
    return service.block(recorded) if recorded["has_hosts"] else recorded


def test_releasing_a_finding_unblocks_the_hosts_it_alone_holds(group: str) -> None:
    service = stack.service(group)
    sight(service, port_probe_finding(["198.51.100.1", "198.51.100.2"], finding_id="probe"))

    released = service.release_finding("probe", by="analyst@example.com")

    assert released["released"] == ["198.51.100.1/32", "198.51.100.2/32"]
    assert released["kept"] == []
    assert stack.blocked_in_group(group) == set()
    assert service.list_hosts() == []


def test_a_host_another_finding_holds_stays_when_one_finding_is_released(group: str) -> None:
    service = stack.service(group)
    sight(service, port_probe_finding(["198.51.100.1", "198.51.100.2"], finding_id="probe"))
    sight(service, native_finding("198.51.100.2", finding_id="c2"))

    released = service.release_finding("probe", by="analyst")

    assert released["released"] == ["198.51.100.1/32"]
    assert released["kept"] == ["198.51.100.2/32"]
    assert stack.blocked_in_group(group) == {"198.51.100.2/32"}
    [record] = service.list_hosts()
    assert record.holders == frozenset({holder_of("c2")})


def test_a_host_blocked_by_hand_stays_when_the_finding_is_released(group: str) -> None:
    service = stack.service(group)
    sight(service, native_finding("198.51.100.3", finding_id="c2"))
    service.manual_block("198.51.100.3", reason="incident 7")

    released = service.release_finding("c2", by="analyst")

    assert released["released"] == [] and released["kept"] == ["198.51.100.3/32"]
    assert stack.blocked_in_group(group) == {"198.51.100.3/32"}


def test_a_released_finding_seen_again_blocks_nothing_within_retention(
    group: str, fake_time: FakeTime
) -> None:
    service = stack.service(group)
    sight(service, native_finding("198.51.100.4", finding_id="c2"))
    service.release_finding("c2", by="analyst")
    fake_time.advance(HOUR)

    recorded = service.record(native_finding("198.51.100.4", finding_id="c2", seen_at=clock.now()))

    assert recorded["has_hosts"] is False
    assert [skip["reason"] for skip in recorded["skipped"]] == ["released"]
    assert stack.blocked_in_group(group) == set()


def test_a_released_finding_seen_after_retention_blocks_again(group: str, fake_time: FakeTime) -> None:
    service = stack.service(group)
    sight(service, native_finding("198.51.100.4", finding_id="c2"))
    service.release_finding("c2", by="analyst")
    fake_time.advance(RETENTION + 1)

    sight(service, native_finding("198.51.100.4", finding_id="c2", seen_at=clock.now()))

    assert stack.blocked_in_group(group) == {"198.51.100.4/32"}


@pytest.mark.parametrize("step", ["hold", "record"])
def test_a_finding_released_while_it_is_recorded_blocks_nothing(group: str, step: str) -> None:
    """The release lands before the record step notes what the finding holds (``hold``), or after that
    and before its host write (``record``: the release finds no host item yet, and the record step's
    re-read of the finding's holds takes the host back): either way nothing of the finding stays."""
    service = stack.service(group)
    original = getattr(service.ledger, step)

    def release_first(*args: object, **kwargs: object) -> object:  # record's admit= (the brake) too
        stack.service(group).release_finding("c2", by="analyst")
        return original(*args, **kwargs)

    setattr(service.ledger, step, release_first)

    recorded = sight(service, native_finding("198.51.100.5", finding_id="c2"))
    sight(stack.service(group), native_finding("198.51.100.6", finding_id="other"))

    assert recorded["has_hosts"] is False
    assert [skip["reason"] for skip in recorded["skipped"]] == ["released"]
    assert stack.blocked_in_group(group) == {"198.51.100.6/32"}
    assert [record.host for record in service.list_hosts()] == ["198.51.100.6/32"]


def test_a_security_hub_finding_and_its_native_event_are_one_holder(group: str) -> None:
    service = stack.service(group)
    event = security_hub_finding("198.51.100.7")
    arn = event["detail"]["findings"][0]["Id"]
    sight(service, event)

    released = service.release_finding(arn.rsplit("/", 1)[-1], by="analyst")

    assert released["released"] == ["198.51.100.7/32"]


def test_an_item_written_before_holders_is_never_released_by_a_finding(group: str) -> None:
    service = stack.service(group)
    sight(service, native_finding("198.51.100.8", finding_id="c2"))
    service.ledger.client.update_item(
        TableName=service.settings.table_name,
        Key={"HostIp": {"S": "198.51.100.8/32"}},
        UpdateExpression="REMOVE Holders, HoldersComplete",
    )

    released = service.release_finding("c2", by="analyst")

    assert released["kept"] == ["198.51.100.8/32"]
    assert stack.blocked_in_group(group) == {"198.51.100.8/32"}


def test_extending_a_finding_pushes_its_hosts_expiry(group: str, fake_time: FakeTime) -> None:
    service = stack.service(group)
    sight(service, port_probe_finding(["198.51.100.1", "198.51.100.2"], finding_id="probe"))
    fake_time.advance(HOUR)

    extended = service.extend_finding("probe", seconds=7 * 86400, by="analyst")

    assert extended["extended"] == ["198.51.100.1/32", "198.51.100.2/32"]
    assert {record.expires_at for record in service.list_hosts()} == {START + HOUR + 7 * 86400}


def test_extending_never_shortens_a_block(group: str, fake_time: FakeTime) -> None:
    service = stack.service(group)
    sight(service, native_finding("198.51.100.1", finding_id="c2"))

    extended = service.extend_finding("c2", seconds=60, by="analyst")

    assert extended["extended"] == []
    assert [record.expires_at for record in service.list_hosts()] == [START + RETENTION]


@pytest.mark.parametrize("finding", ["", "   ", 7, None, "x" * 2000])
def test_a_release_of_no_finding_is_refused_and_changes_nothing(group: str, finding: object) -> None:
    service = stack.service(group)
    sight(service, native_finding("198.51.100.1", finding_id="c2"))

    with pytest.raises(InvalidInput, match="finding id"):
        service.release_finding(finding, by="analyst")

    assert stack.blocked_in_group(group) == {"198.51.100.1/32"}


def test_releasing_a_finding_that_holds_nothing_releases_nothing(group: str) -> None:
    service = stack.service(group)
    sight(service, native_finding("198.51.100.1", finding_id="c2"))

    released = service.release_finding("unknown", by="analyst")

    assert released["released"] == [] and released["kept"] == []
    assert stack.blocked_in_group(group) == {"198.51.100.1/32"}


def test_a_record_step_retried_after_a_release_takes_back_what_its_failed_attempt_wrote(group: str) -> None:
    """The release lands between the first attempt's holds note and its host write, and the attempt then
    fails before re-reading the finding's holds: the retry finds the finding released and takes back
    the host the failed attempt wrote."""
    service = stack.service(group)
    original = service.ledger.record

    def release_first(*args: object, **kwargs: object) -> object:  # record's admit= (the brake) too
        stack.service(group).release_finding("c2", by="analyst")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    def unavailable(finding_id: str) -> FindingHolds:
        raise LedgerUnavailable("throttled")

    service.ledger.record = release_first  # type: ignore[method-assign,assignment]
    service.ledger.holds = unavailable  # type: ignore[method-assign]
    event = native_finding("198.51.100.9", finding_id="c2")
    with pytest.raises(LedgerUnavailable, match="throttled"):
        service.record(event)
    assert [record.host for record in stack.service(group).list_hosts()] == ["198.51.100.9/32"]

    retried = sight(stack.service(group), event)

    assert retried["has_hosts"] is False
    assert stack.service(group).list_hosts() == []


def block_now(event: dict) -> dict:
    """``event`` as the Security Hub custom action "Block now" sends its finding."""
    event["detail-type"] = "Security Hub Findings - Custom Action"
    event["resources"] = ["arn:aws:securityhub:us-east-1:123456789012:action/custom/NfwBlockNow0a1b2c"]
    event["detail"] = {
        "actionName": "Block now",
        "actionDescription": "-",
        "findings": event["detail"]["findings"],
    }
    return event


def test_block_now_blocks_a_finding_below_the_minimum_severity(group: str) -> None:
    service = stack.service(group, min_severity=9.0)
    low = security_hub_finding("198.51.100.20")
    assert service.record(low)["has_hosts"] is False

    outcome = sight(service, block_now(security_hub_finding("198.51.100.20")))

    assert stack.blocked_in_group(group) == {"198.51.100.20/32"}
    assert outcome["notification"]["RequestedBy"].endswith("custom action Block now")
    assert outcome["message"]["email"].startswith("Requested by a person (the event does not say who)")


def test_block_now_never_blocks_a_protected_host(group: str) -> None:
    service = stack.service(group, min_severity=9.0)

    recorded = sight(service, block_now(security_hub_finding("10.1.2.3")))

    assert recorded["has_hosts"] is False
    assert [skip["reason"] for skip in recorded["skipped"]] == ["protected"]
    assert stack.blocked_in_group(group) == set()


@pytest.mark.parametrize("author", ["bob\tsmith", "eve\nUnblocked (0): -"])
def test_an_analysts_suppression_releases_whatever_its_notes_author_says(group: str, author: str) -> None:
    """``Note.UpdatedBy`` is free text: a tab or a line break in it once failed the whole release."""
    service = stack.service(group)
    sight(service, security_hub_finding("198.51.100.30"))
    suppressed = security_hub_finding("198.51.100.30")
    suppressed["detail"]["findings"][0].update(
        Workflow={"Status": "SUPPRESSED"}, Note={"Text": "false positive", "UpdatedBy": author}
    )

    recorded = service.record(suppressed)
    outcome = service.steer(recorded)

    assert stack.blocked_in_group(group) == set()
    assert outcome["notification"]["By"].isprintable()
    assert "\nUnblocked (0)" not in outcome["message"]["email"]


def custom_action(action_id: str, events: list[dict]) -> dict:
    """The Security Hub custom action ``action_id`` sent for the findings of ``events``."""
    event = block_now(events[0])
    event["resources"] = [f"arn:aws:securityhub:us-east-1:123456789012:action/custom/{action_id}"]
    event["detail"]["findings"] = [finding for one in events for finding in one["detail"]["findings"]]
    return event


@pytest.mark.parametrize(
    ("action_id", "findings", "message"),
    [
        ("NfwUnblock0a1b2c", 21, "names 21 GuardDuty findings: at most 20"),
        ("SomeoneElses", 1, "not one of the stack's custom actions"),
    ],
)
def test_a_custom_action_that_is_no_decision_is_refused_never_taken_for_a_sighting(
    group: str, action_id: str, findings: int, message: str
) -> None:
    """An analyst's "Unblock" on more findings than one decision carries once blocked their hosts."""
    service = stack.service(group)
    event = custom_action(
        action_id, [security_hub_finding(f"198.51.100.{n}", finding_id=f"f{n}") for n in range(findings)]
    )

    with pytest.raises(InvalidInput, match=message):
        service.record(event)

    assert service.list_hosts() == []


def ocsf_finding(**changes: object) -> dict:
    """The new Security Hub's sample finding (remote host 198.51.100.0), with ``changes`` to the finding."""
    event = sample("securityhub-v2-guardduty-c2-finding.json")
    event["id"] = str(uuid.uuid4())
    event["detail"]["findings"][0].update(changes)
    return event


@pytest.mark.parametrize(
    ("status", "how"),
    [
        ({"status_id": 3, "status": "Suppressed"}, "suppressed"),
        ({"status_id": 4, "status": "Resolved", "comment": "false positive"}, "resolved"),
        ({"status_id": 5, "status": "Archived"}, "archived"),
    ],
)
def test_a_persons_decision_in_the_new_security_hub_releases_the_finding(
    group: str, status: dict, how: str
) -> None:
    """docs/LIMITS.md said a person's status change there is read; it was only read as a sighting to skip,
    so the host stayed blocked."""
    service = stack.service(group)
    sight(service, ocsf_finding())
    assert stack.blocked_in_group(group) == {"198.51.100.0/32"}

    recorded = service.record(ocsf_finding(**status))
    outcome = service.steer(recorded)

    assert stack.blocked_in_group(group) == set()
    assert outcome["notification"]["ReleasedCount"] == 1
    assert how in outcome["notification"]["How"] and "new Security Hub" in outcome["notification"]["How"]


def test_the_new_security_hubs_repeat_of_a_released_decision_is_no_new_decision(group: str) -> None:
    """The tool notes nothing on the new Security Hub's finding, so every later event of a suppressed
    finding still says Suppressed: one release and one e-mail, not one per event."""
    service = stack.service(group)
    sight(service, ocsf_finding())
    service.steer(service.record(ocsf_finding(status_id=3, status="Suppressed")))

    again = service.record(ocsf_finding(status_id=3, status="Suppressed"))

    assert "steer" not in again and again["has_hosts"] is False
    assert [skip["reason"] for skip in again["skipped"]] == ["released"]


def test_a_persons_resolution_that_leaves_the_tools_comment_in_the_new_security_hub_releases(
    group: str,
) -> None:
    """The tool comments on every finding it blocks (In Progress by default); an analyst who then sets
    Resolved without a comment of their own left the tool's comment, once read as the tool's own Resolved:
    nothing was released, and the next sighting blocked again."""
    service = stack.service(group)
    sight(service, ocsf_finding())
    comment = v2_request(
        Annotation("nfw-blocklist blocked 198.51.100.0/32 until 2021-01-05 13:25 UTC.", {}, "NOTIFIED"), []
    )["Comment"]

    recorded = service.record(ocsf_finding(status_id=4, status="Resolved", comment=comment))
    service.steer(recorded)

    assert stack.blocked_in_group(group) == set()


def test_the_tools_own_resolution_in_the_new_security_hub_is_no_decision(group: str) -> None:
    service = stack.service(group)
    sight(service, ocsf_finding())
    comment = v2_request(
        Annotation("nfw-blocklist blocked 198.51.100.0/32 until 2021-01-05 13:25 UTC.", {}, "RESOLVED"), []
    )["Comment"]

    recorded = service.record(ocsf_finding(status_id=4, status="Resolved", comment=comment))

    assert "steer" not in recorded
    assert stack.blocked_in_group(group) == {"198.51.100.0/32"}


def test_a_status_decision_about_a_finding_that_holds_nothing_is_noted_quietly(group: str) -> None:
    """An analyst who archives or suppresses hundreds of findings at once (most never blocked anything) got
    one "0 host(s) unblocked" e-mail per finding: the steer step always notifies."""
    service = stack.service(group, min_severity=9.0)
    assert service.record(security_hub_finding("198.51.100.50", finding_id="quiet"))["has_hosts"] is False
    suppressed = security_hub_finding("198.51.100.50", finding_id="quiet")
    suppressed["detail"]["findings"][0]["Workflow"] = {"Status": "SUPPRESSED"}

    recorded = service.record(suppressed)

    assert "steer" not in recorded and recorded["has_hosts"] is False
    assert [skip["reason"] for skip in recorded["skipped"]] == ["released"]
    assert service.ledger.holds("quiet").released(clock.now()), "released all the same"


def test_unblock_from_security_hub_is_answered_even_when_the_finding_holds_nothing(group: str) -> None:
    service = stack.service(group, min_severity=9.0)
    event = custom_action("NfwUnblock0a1b2c", [security_hub_finding("198.51.100.51", finding_id="asked")])

    recorded = service.record(event)

    assert recorded["steer"]["findings"] == [event["detail"]["findings"][0]["Id"]]
