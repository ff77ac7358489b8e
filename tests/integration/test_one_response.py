"""One GuardDuty finding, one response, whichever way it arrives: native, Security Hub CSPM (ASFF) and the new
Security Hub (OCSF) deliver the same finding; the record step keys it on GuardDuty's own finding id and
sighting (its ``updatedAt``), so the hosts are recorded and blocked once, one notification goes out, each
Security Hub that delivered it still has it annotated, and a genuine update still refreshes the hosts."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import clock
from nfw_blocklist.findings import native_finding
from tests.integration import stack

SAMPLES = Path(__file__).resolve().parents[2] / "nfw_blocklist" / "samples"
HOST = "198.51.100.0/32"
FIRST = "2021-01-05T01:15:01.549Z"
UPDATE = "2021-01-05T03:40:00.000Z"


def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def _cspm(when: str) -> dict[str, Any]:
    event = _sample("securityhub-guardduty-c2-finding.json")
    finding = event["detail"]["findings"][0]
    finding["UpdatedAt"] = finding["LastObservedAt"] = when
    finding["ProductFields"]["aws/guardduty/service/eventLastSeen"] = when
    return event


def _ocsf(when: str) -> dict[str, Any]:
    event = _sample("securityhub-v2-guardduty-c2-finding.json")
    info = event["detail"]["findings"][0]["finding_info"]
    info["modified_time_dt"] = info["last_seen_time_dt"] = when
    return event


def _native(when: str) -> dict[str, Any]:
    """The same finding as GuardDuty's own event: the native IPv4 sample given the reference finding's
    id, ARN, remote host and times."""
    event = _sample("guardduty-native-ipv4.json")
    reference = _sample("securityhub-guardduty-c2-finding.json")["detail"]["findings"][0]
    detail = event["detail"]
    detail["arn"] = reference["Id"]
    detail["id"] = reference["Id"].rsplit("/", 1)[-1]
    detail["accountId"], detail["region"] = reference["AwsAccountId"], "us-east-1"
    detail["updatedAt"] = detail["service"]["eventLastSeen"] = when
    detail["service"]["action"]["networkConnectionAction"]["remoteIpDetails"]["ipAddressV4"] = "198.51.100.0"
    return event


SHAPES = {"guardduty": _native, "securityhub": _cspm, "securityhubv2": _ocsf}


def _ledger_items() -> list[dict[str, Any]]:
    """The hosts' items (the loop guard's memory of each Security Hub's echo is written apart)."""
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName=stack.TABLE)["Items"]
    return sorted((i for i in items if not i["HostIp"]["S"].startswith("#")), key=json.dumps)


def _host_item() -> dict[str, Any]:
    (item,) = [i for i in _ledger_items() if i["HostIp"]["S"] == HOST]
    return item


def test_the_new_security_hubs_first_arrival_is_not_taken_for_an_echo_of_cspms(group):
    service = stack.service(group)
    service.record(_cspm(FIRST))

    recorded = service.record(_ocsf(FIRST))

    assert "own-update" not in [skip["reason"] for skip in recorded["skipped"]]
    assert recorded["refreshed"] == [HOST]


def test_cspms_first_arrival_is_not_taken_for_an_echo_of_the_new_security_hubs(group):
    service = stack.service(group)
    service.record(_ocsf(FIRST))

    recorded = service.record(_cspm(FIRST))

    assert (recorded["refreshed"], recorded["annotate"]) == ([HOST], True)


def test_the_same_sighting_another_way_is_deduplicated_and_writes_no_host(group):
    service = stack.service(group)
    first = service.record(_native(FIRST))
    before = _ledger_items()

    again = service.record(_ocsf(FIRST))

    assert first["new"] == [HOST]
    assert again["deduplicated"] == [{"finding": "1234680e481690b44f7cc7e221abcdef", "via": "securityhubv2"}]
    assert again["refreshed"] == [HOST]
    assert again["expires_at"] == first["expires_at"]
    assert _ledger_items() == before


def test_a_genuine_update_another_way_refreshes_the_hosts(group, fake_time):
    service = stack.service(group)
    service.record(_native(FIRST))
    fake_time.advance(600)

    updated = service.record(_cspm(UPDATE))

    assert (updated["refreshed"], updated["deduplicated"]) == ([HOST], [])
    assert float(_host_item()["LastSeen"]["N"]) == _epoch(UPDATE)


def _respond(service: Any, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    recorded = service.record(event)
    blocked = service.block(recorded) if recorded["has_hosts"] else None
    return recorded, blocked


_FINDINGS = iter(range(1, 1_000_000))
GUARDDUTY_ID = "1234680e481690b44f7cc7e221abcdef"


def _another_finding(event: dict[str, Any], n: int) -> dict[str, Any]:
    """``event`` as the delivery of another GuardDuty finding (its own id and remote host), so examples
    share one table and rule group and still start from nothing."""
    text = json.dumps(event).replace(GUARDDUTY_ID, f"{n:032x}").replace('"198.51.100.0"', f'"203.0.113.{n}"')
    moved: dict[str, Any] = json.loads(text)
    return moved


@settings(
    # 72 combinations; a handful in `make test` (each delivery is a record and a block against moto), all
    # of them and more under the soak profile.
    max_examples=3 if settings.default.max_examples <= 100 else 200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    order=st.permutations(sorted(SHAPES)),
    update_via=st.sampled_from(sorted(SHAPES)),
    update_at=st.integers(min_value=0, max_value=3),
)
def test_one_finding_through_every_way_in_any_order_gets_one_response(
    group, fake_time, order, update_via, update_at
):
    """GIVEN the finding delivered by all three ways, in any order, with its genuine update (by any way)
    anywhere among them; THEN its host is blocked once and notified once, each Security Hub that delivered
    it had it annotated, and the update is what the ledger holds."""
    n = next(_FINDINGS) % 250 + 1
    host = f"203.0.113.{n}/32"
    service = stack.service(group)
    deliveries: list[tuple[str, str]] = [(way, FIRST) for way in order]
    deliveries.insert(update_at, (update_via, UPDATE))
    annotated: set[str] = set()
    newly_blocked: list[str] = []
    notified = 0
    latest_recorded: str | None = None
    for way, when in deliveries:
        fake_time.advance(30)
        recorded, blocked = _respond(service, _another_finding(SHAPES[way](when), n))
        repeat = latest_recorded is not None and when <= latest_recorded
        # Recorded once per sighting: a repeat another way is deduplicated (the same way again ends earlier,
        # at the loop guard); a later sighting is recorded.
        own_update = [s for s in recorded["skipped"] if s["reason"] == "own-update"]
        assert bool(recorded["deduplicated"] or own_update) == repeat, (way, when, recorded)
        if not repeat:
            latest_recorded = when
        if recorded["annotate"]:
            annotated.add(way)
        if blocked is not None:
            newly_blocked.extend(blocked["blocked"])
            notified += blocked["notify"]

    assert newly_blocked == [host]
    assert notified == 1
    assert annotated == ANNOTATED_WAYS
    (item,) = [i for i in _ledger_items() if i["HostIp"]["S"] == host]
    assert float(item["LastSeen"]["N"]) == _epoch(UPDATE)


ANNOTATED_WAYS = {"securityhub", "securityhubv2"}


def _epoch(when: str) -> float:
    return datetime.fromisoformat(when).timestamp()


def test_a_sighting_the_brake_refused_is_recorded_when_it_comes_another_way_after_the_release(group):
    """The brake refused the host, so the sighting recorded nothing: the same sighting arriving another
    way once the brake is released is no repeat (it was reported "refreshed" and never blocked)."""
    service = stack.service(group, brake_max_new_blocks=1)
    service.block(service.record(native_finding("203.0.113.9", seen_at=clock.now())))
    refused = service.record(_native(FIRST))
    assert (refused["brake"]["refused_count"], refused["new"]) == (1, [])
    service.brake_release()

    again = service.record(_cspm(FIRST))
    service.block(again)

    assert (again["new"], again["deduplicated"]) == ([HOST], [])
    assert HOST in stack.blocked_in_group(group)


def test_a_repeat_whose_host_left_the_ledger_is_recorded_not_reported_refreshed(group):
    """The first arrival's host was unblocked (or evicted, or refused by a full group) since: the same
    sighting another way reported it "refreshed", and its annotation "blocked", while nothing blocked it."""
    service = stack.service(group)
    service.block(service.record(_native(FIRST)))
    service.unblock(HOST)

    again = service.record(_cspm(FIRST))
    service.block(again)

    assert (again["new"], again["refreshed"], again["deduplicated"]) == ([HOST], [], [])
    assert HOST in stack.blocked_in_group(group)


# --- Two ways at the same instant: each step of one record may run between two steps of the other ---

RECORD_STEPS = ("sighting_seen", "record", "hold", "remember_sighting")
"""The ledger calls of a record step, in order (docs/DESIGN.md "One response"): another way's whole record
step may run between any two of them."""


def _record_with_the_other_way_at(
    step: str, first: Any, second: Any, first_event: dict[str, Any], second_event: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``first`` records ``first_event``; just before its first ledger call ``step``, ``second`` records
    ``second_event`` from start to end (the instant both routes delivered the finding)."""
    original = getattr(first.ledger, step)
    seconds: list[dict[str, Any]] = []

    def other_way_first(*args: Any, **kwargs: Any) -> Any:
        if not seconds:
            seconds.append(second.record(second_event))
        return original(*args, **kwargs)

    setattr(first.ledger, step, other_way_first)
    recorded = first.record(first_event)
    assert seconds, f"the record step made no {step} call"
    return recorded, seconds[0]


@pytest.mark.parametrize(
    # Every step once; the block steps' order alternates (either block may find the host pending).
    ("step", "block_order"),
    [(step, ("first", "second")[index % 2]) for index, step in enumerate(RECORD_STEPS)],
)
def test_two_ways_of_one_finding_recording_at_the_same_instant_block_it_once_and_notify_once(
    group, step, block_order
):
    """GIVEN the finding natively and through the new Security Hub at the same instant; WHEN the OCSF
    record step runs whole between two ledger calls of the native one, and the block steps run in either
    order; THEN the host is recorded once, blocked once and notified once, and the ledger holds it as
    blocked."""
    native, ocsf = stack.service(group), stack.service(group)

    recorded = _record_with_the_other_way_at(step, native, ocsf, _native(FIRST), _ocsf(FIRST))
    order = recorded if block_order == "first" else recorded[::-1]
    services = (native, ocsf) if block_order == "first" else (ocsf, native)
    blocks = [service.block(payload) for service, payload in zip(services, order, strict=True)]

    assert sorted(host for payload in recorded for host in payload["new"]) == [HOST]
    assert [host for block in blocks for host in block["blocked"]] == [HOST]
    assert sum(block["notify"] for block in blocks) == 1
    assert stack.blocked_in_group(group) == {HOST}
    assert "Pending" not in _host_item(), "confirmed: written to the group"
