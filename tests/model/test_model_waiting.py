"""Issue 18 item 12: what waiting for the writer lease costs does not grow with how long the wait lasts.

A burst of findings runs in the deterministic scheduler as a discrete-event simulation: every AWS call
takes the same virtual time, every sleep lasts what it asks, and the operation due first makes its next
call. As in the bench, a fixed number of executions is in flight, a new one starting when one ends, so
the lease passes from holder to holder many times. One finding before the burst leaves the pace of a
turn in the lease item, as any deployed ledger has it after its first write.

The same burst runs on a fast and on a 25 times slower "machine" (every call 25 times longer): every
wait lasts longer there, so a waiter that polls on a fixed cadence reads more items per finding (on the
code of issue 18: 6.4 and 11.4). Waiting must cost about the same number of reads however long it lasts.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from handlers import clock
from handlers.service import BlocklistService
from nfw_blocklist.findings import documentation_hosts, native_finding
from tests.integration import stack
from tests.model.conftest import REGION, World
from tests.model.scheduler import Operation, ScheduledClient, Scheduler, VirtualClock

pytestmark = pytest.mark.model

START = 1_800_000_000.0
FINDINGS = 24
IN_FLIGHT = 6
FAST, SLOW = 0.02, 0.5
"""Virtual seconds every AWS call takes on the fast and on the slow machine."""


@dataclass
class Burst:
    items_read_per_finding: float
    updates: int
    blocked: set[str]


def burst(world: World, call_seconds: float, findings: int = FINDINGS, in_flight: int = IN_FLIGHT) -> Burst:
    """``findings`` findings for distinct hosts, ``in_flight`` at a time, each call ``call_seconds`` long."""
    suffix = f"{call_seconds:g}-{findings}".replace(".", "-")
    stack.create_table(name=f"ledger-wait-{suffix}")
    arn = stack.create_rule_group(name=f"rules-wait-{suffix}")
    settings = stack.settings(arn, table_name=f"ledger-wait-{suffix}")
    virtual = VirtualClock(START)
    clock.set_clock(virtual)
    scheduler = Scheduler(virtual)
    world.scheduler = scheduler
    dynamodb = ScheduledClient(world.dynamodb, "dynamodb", scheduler)
    network_firewall = ScheduledClient(world.network_firewall, "nfw", scheduler)

    def environment(seed: int) -> BlocklistService:
        service = BlocklistService.create(
            settings,
            dynamodb=dynamodb,
            network_firewall=network_firewall,
            sleep=scheduler.sleep,
            region=REGION,
        )
        service.writer.wall_clock = virtual
        service.writer.rng = random.Random(seed)
        service.ledger.sleep = scheduler.sleep
        service.ledger.rng = random.Random(seed)
        return service

    first, *hosts = documentation_hosts(findings + 1)

    def execution(host: str) -> Callable[[], dict[str, object]]:
        service = environment(len(services))
        services.append(service)
        return lambda: service.block(service.record(native_finding(host)))

    services: list[BlocklistService] = []
    simulate(scheduler, call_seconds, [execution(first)], in_flight=1)
    services.clear()
    ops = simulate(scheduler, call_seconds, [execution(host) for host in hosts], in_flight)
    items = sum(service.ledger.counts.items_read for service in services)
    updates = sum(op.result["updates"] for op in ops)
    return Burst(items / findings, updates, stack.blocked_in_group(arn) - {f"{first}/32"})


def simulate(
    scheduler: Scheduler, call_seconds: float, jobs: list[Callable[[], Any]], in_flight: int
) -> list[Operation]:
    """Run ``jobs``, ``in_flight`` at a time, each AWS call ``call_seconds`` long; the first due goes next."""
    virtual = scheduler.clock
    waiting = list(jobs)
    ops: list[Operation] = []
    due: dict[int, float] = {}
    while waiting or not all(op.done for op in ops):
        while waiting and sum(not op.done for op in ops) < in_flight:
            op = scheduler.start("execution", f"execution {len(ops)}", waiting.pop(0))
            ops.append(op)
            due[op.number] = virtual()
        op = min((op for op in ops if not op.done), key=lambda o: (due[o.number], o.number))
        virtual.advance_to(due[op.number])
        scheduler.step(op)
        due[op.number] = op.wake_at if op.wake_at is not None else virtual() + call_seconds
    assert [op.error for op in ops] == [None] * len(ops)
    return ops


def test_waiting_for_the_lease_costs_the_same_reads_on_a_ten_times_slower_machine(world: World) -> None:
    fast = burst(world, FAST)
    slow = burst(world, SLOW)

    expected = {f"{host}/32" for host in documentation_hosts(FINDINGS + 1)[1:]}
    assert fast.blocked == slow.blocked == expected
    assert slow.items_read_per_finding <= fast.items_read_per_finding * 1.25, (fast, slow)


def test_a_holder_confirming_a_long_burst_is_not_gone_around(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """On a slow machine one holder confirms 60 hosts for longer than a waiter's 30 s of patience: its
    waiters must see it working (its lease extensions say so), not take it for stuck and write beside it."""
    storm = burst(world, SLOW, findings=60, in_flight=60)

    assert len(storm.blocked) == 60
    assert "writing without it" not in caplog.text
