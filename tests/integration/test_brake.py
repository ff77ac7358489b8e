"""The brake (issue 21, item 4): a flood of new hosts stops at the ceiling; nothing is half-applied; one
notification; concurrent record steps never take more than the ceiling; manual blocks and re-sightings
pass; a release lets new blocks in again."""

import threading

import boto3

from handlers import clock
from handlers.brake import BRAKE_KEY, Brake
from handlers.ledger import Ledger
from nfw_blocklist.findings import documentation_hosts, native_finding, port_probe_finding
from tests.integration import stack

CEILING = 5


def braked_service(group: str, **overrides: object):  # type: ignore[no-untyped-def]
    return stack.service(group, brake_max_new_blocks=CEILING, **overrides)


def host_keys() -> set[str]:
    items = boto3.client("dynamodb").scan(TableName=stack.TABLE)["Items"]
    return {item["HostIp"]["S"] for item in items if not item["HostIp"]["S"].startswith("#")}


def test_a_flood_of_forged_hosts_stops_at_the_ceiling_with_one_notification(group: str) -> None:
    service = braked_service(group)
    hosts = documentation_hosts(CEILING + 7)
    outcomes = []
    for host in hosts:
        recorded = service.record(native_finding(host, seen_at=clock.now()))
        outcomes.append(service.block(recorded) if recorded["has_hosts"] else None)

    assert stack.blocked_in_group(group) == {f"{host}/32" for host in hosts[:CEILING]}
    assert host_keys() == {f"{host}/32" for host in hosts[:CEILING]}, "nothing recorded past the ceiling"
    notices = [o for o in outcomes if o and o["notify"] and "BRAKE ON" in o["subject"]]
    assert len(notices) == 1, "exactly one notification says the brake is on"
    assert "nfw-blocklist brake release" in notices[0]["message"]["email"]
    assert notices[0]["counts"]["brake_refused"] == 1
    state = Brake.of(service.ledger, service.settings).state(clock.now())
    assert state.engaged and state.refused_count == 7
    assert set(state.refused) == {f"{host}/32" for host in hosts[CEILING:]}, "the operator sees them"


def test_hundreds_of_forged_hosts_in_port_probes_stop_at_the_ceiling(group: str) -> None:
    service = braked_service(group)
    hosts = documentation_hosts(300)

    for n in range(3):
        recorded = service.record(port_probe_finding(hosts[n * 100 : (n + 1) * 100]))
        if recorded["has_hosts"]:
            service.block(recorded)

    assert len(stack.blocked_in_group(group)) == CEILING == len(host_keys())
    state = Brake.of(service.ledger, service.settings).state(clock.now())
    assert state.engaged and state.refused_count == 300 - CEILING
    assert len(state.refused) == 300 - CEILING, "every refused host kept for the operator"


def test_a_port_probe_past_the_ceiling_is_cut_whole_host_by_host_never_half_written(group: str) -> None:
    service = braked_service(group)
    hosts = documentation_hosts(CEILING + 5)

    recorded = service.record(port_probe_finding(hosts))
    service.block(recorded)

    assert recorded["counts"]["new"] == CEILING and recorded["brake"]["refused_count"] == 5
    assert len(stack.blocked_in_group(group)) == CEILING == len(host_keys())


def test_re_sightings_and_manual_blocks_pass_the_engaged_brake_and_release_lets_new_blocks_in(
    group: str,
) -> None:
    service = braked_service(group)
    hosts = documentation_hosts(CEILING + 2)
    service.block(service.record(port_probe_finding(hosts)))

    again = service.record(native_finding(hosts[0], seen_at=clock.now()))
    assert again["counts"]["refreshed"] == 1, "a blocked host seen again is not a new block"
    service.manual_block("203.0.113.77", "analyst")
    service.unblock(f"{hosts[1]}/32")
    assert "203.0.113.77/32" in stack.blocked_in_group(group)
    assert f"{hosts[1]}/32" not in stack.blocked_in_group(group)

    released = Brake.of(service.ledger, service.settings).release(clock.now())
    assert released.engaged and released.refused_count == 2
    recorded = service.record(native_finding(hosts[-1], seen_at=clock.now()))
    service.block(recorded)
    assert f"{hosts[-1]}/32" in stack.blocked_in_group(group)


def test_concurrent_record_steps_never_take_more_slots_than_the_ceiling(group: str) -> None:
    brake = Brake(Ledger(stack.TABLE), ceiling=CEILING)
    admitted: list[str] = []
    lock = threading.Lock()

    def take(host: str) -> None:
        mine = Brake(Ledger(stack.TABLE), ceiling=CEILING)
        if mine.admit(host, clock.now()):
            with lock:
                admitted.append(host)
        mine.flush()

    threads = [threading.Thread(target=take, args=(host,)) for host in documentation_hosts(3 * CEILING)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    state = brake.state(clock.now())
    assert len(admitted) == CEILING == state.new_blocks
    assert state.engaged and state.refused_count == 2 * CEILING
    item = boto3.client("dynamodb").get_item(TableName=stack.TABLE, Key={"HostIp": {"S": BRAKE_KEY}})
    assert "Shard" not in item["Item"], "the brake item is not a host: never listed"


def test_a_record_step_that_started_in_the_previous_period_joins_the_current_one(group: str) -> None:
    brake = Brake(Ledger(stack.TABLE), ceiling=2, period_minutes=60)
    now = clock.now()
    assert brake.admit("198.18.0.1/32", now + 3600), "the next period opens"

    assert brake.admit("198.18.0.2/32", now), "a step that read the clock before it counts in the new period"
    assert not brake.admit("198.18.0.3/32", now)
    assert brake.state(now + 3600).new_blocks == 2
