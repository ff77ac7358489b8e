"""Issue 18 item 11: a storm of sightings of one host costs each sighting O(1) conditional-write conflicts.

Twenty record operations name the same host, each with its own finding, and the deterministic scheduler
(`tests/model/scheduler.py`) runs them in lock-step: every operation makes its next call, then the next
operation does, round after round. That is the schedule a read-modify-write loses worst: all of them read
the item, one write wins, every other one is refused and reads again, so the last one is refused once per
operation before it. However many operations share the item, none may be refused more than a few times,
and the item must end as every sighting merged in.
"""

from collections.abc import Callable

import pytest

from handlers.ledger import RECENT_FINDINGS, SOURCE_FINDING, HostRecord, Ledger, Sighting
from tests.integration import stack
from tests.model.conftest import World
from tests.model.scheduler import Operation, ScheduledClient, Scheduler, VirtualClock

pytestmark = pytest.mark.model

SHARED = "198.51.100.77/32"
STORM = 20
START = 1_800_000_000.0
MAX_CONFLICTS_PER_SIGHTING = 4
"""One refusal per field another sighting can move past ours (last seen, expiry, first seen, severity),
at most: a constant, whatever the storm's size."""


def sighting(n: int, seen_at: float, recorded_at: float) -> Sighting:
    return Sighting(
        host=SHARED,
        seen_at=seen_at,
        expires_at=recorded_at + 3600,
        source=SOURCE_FINDING,
        recorded_at=recorded_at,
        finding_id=f"probe-{n}",
        finding_type="Recon:EC2/PortProbeUnprotectedPort",
        severity=float(n % 3 + 2),
    )


def storm(world: World, table: str, sightings: list[Sighting]) -> tuple[list[Ledger], list[Operation]]:
    """Record every sighting in its own operation, stepping them round-robin until all are done."""
    scheduler = Scheduler(VirtualClock(START))
    world.scheduler = scheduler
    client = ScheduledClient(world.dynamodb, "dynamodb", scheduler)
    ledgers = [Ledger(table, client=client, sleep=scheduler.sleep) for _ in sightings]

    def recorder(ledger: Ledger, seen: Sighting) -> Callable[[], tuple[HostRecord, bool]]:
        return lambda: ledger.record(seen)

    ops = [
        scheduler.start("record", f"record {s.finding_id}", recorder(ledger, s))
        for ledger, s in zip(ledgers, sightings, strict=True)
    ]
    for _ in range(10_000):
        running = [op for op in ops if not op.done]
        if not running:
            break
        for op in running:
            scheduler.step(op)
    return ledgers, ops


@pytest.mark.parametrize(
    "order",
    ["newest sighting last", "newest sighting first"],
)
def test_a_storm_on_one_host_costs_each_sighting_a_bounded_number_of_conflicts(
    world: World, order: str
) -> None:
    # GIVEN the host is blocked already (the storm refreshes an existing item)
    table = f"ledger-storm-{order.split()[2]}"
    stack.create_table(name=table)
    setup = Ledger(table, client=world.dynamodb)
    setup.record(sighting(-1, START - 7200, START - 7200))
    setup.clear_pending([SHARED])
    times = [START + n for n in range(STORM)]
    if order == "newest sighting first":
        times.reverse()
    sightings = [sighting(n, seen_at=t - 60, recorded_at=t) for n, t in enumerate(times)]

    # WHEN twenty findings record it in lock-step
    ledgers, ops = storm(world, table, sightings)

    # THEN every one succeeded, none was refused more than a constant number of times
    assert [op.error for op in ops] == [None] * STORM
    conflicts = {op.label: ledger.counts.write_conflicts for op, ledger in zip(ops, ledgers, strict=True)}
    assert max(conflicts.values()) <= MAX_CONFLICTS_PER_SIGHTING, conflicts
    # AND the item holds every sighting merged: times only forward, the first ids kept, the latest named
    record = Ledger(table, client=world.dynamodb).get(SHARED)
    assert record is not None
    assert record.first_seen == START - 7200
    assert record.last_seen == max(t - 60 for t in times)
    assert record.expires_at == max(times) + 3600
    assert record.severity == 4.0
    assert record.finding_ids[0] == "probe--1"
    assert len(set(record.finding_ids)) == len(record.finding_ids) == RECENT_FINDINGS
    assert set(record.finding_ids[1:]) <= {s.finding_id for s in sightings}
    assert record.last_finding_id in {s.finding_id for s in sightings}
    assert not record.pending
