"""A burst of findings against a fresh session, with optional faults, and the row of figures it yields.

The burst, faults, duplicates and storm scenarios are all bursts: they differ in the events they send
and the faults they inject, not in how a burst is driven or measured.
"""

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from handlers.domains import looks_like_domain
from nfw_blocklist.bench import readings
from nfw_blocklist.bench.driver import WINDOW, Events, Execution, burst, span_seconds
from nfw_blocklist.bench.measure import (
    Call,
    Tally,
    cpu_ms_per_finding,
    peak_rss_mb,
    percentile,
    ratio,
)
from nfw_blocklist.bench.report import Row
from nfw_blocklist.bench.seeding import seed
from nfw_blocklist.bench.session import SEED, Session
from nfw_blocklist.findings import dns_finding, documentation_hosts, native_finding


def native_events(hosts: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """One native GuardDuty C&C finding per host."""
    return [(f"{host}/32", native_finding(host)) for host in hosts]


def ledger_key(host: str) -> str:
    """How the ledger and the group name ``host``: an IPv4 host with its prefix, a domain as it is."""
    return host if looks_like_domain(host) else f"{host}/32"


def dns_events(domains: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """One native GuardDuty C&CActivity.B!DNS finding per domain."""
    return [(domain, dns_finding(domain)) for domain in domains]


def burst_row(
    session: Session,
    scenario: str,
    case: str,
    requested: set[str],
    executions: list[Execution],
    calls: list[Call],
    counted: Tally,
    wall: float,
    most: int,
    crashed: set[str] | None = None,
) -> Row:
    """The figures of a burst: ``counted`` is the tally's difference over it, ``wall`` its duration."""
    in_group = session.group_hosts()
    latencies = [e.blocked_at - e.started_at for e in executions if e.blocked_at is not None]
    findings = max(1, len(executions))
    handler_calls = [c for c in calls if c.handler in ("record", "block")]
    span = span_seconds(executions)
    span = round(span, 2) if span is not None else None  # the ratio is of the figure the report shows
    return Row(
        scenario=scenario,
        case=case,
        hosts_requested=len(requested),
        hosts_in_group=len(requested & in_group),
        hosts_lost=len(requested - in_group),
        executions=len(executions),
        failed_executions=sum(1 for e in executions if e.status != "SUCCEEDED"),
        injected_failures=sum(
            1 for e in executions if e.status != "SUCCEEDED" and e.host in (crashed or set())
        ),
        failure_notifications=len(readings.failure_notifications(session.notifications())),
        update_calls=counted.update_calls,
        describe_calls=counted.describe_calls,
        token_conflicts=counted.token_conflicts,
        throttles=counted.throttles,
        ledger_write_conflicts=counted.ledger_write_conflicts,
        task_retries=max(0, len(handler_calls) - sum(e.lambda_states_entered for e in executions)),
        items_read_per_finding=round(counted.items_read / findings, 2),
        latency_p50_s=round(percentile(latencies, 0.5), 3),
        latency_p95_s=round(percentile(latencies, 0.95), 3),
        latency_max_s=round(max(latencies, default=0.0), 3),
        wall_s=round(wall, 2),
        handler_cpu_ms_per_finding=cpu_ms_per_finding(handler_calls, findings),
        handler_cpu_ms_per_finding_incl_emulation=cpu_ms_per_finding(handler_calls, findings, own=False),
        peak_memory_mb=round(peak_rss_mb(), 1),
        max_in_flight=most,
        findings_per_update=ratio(len(executions), counted.update_calls),
        updates_per_second=ratio(counted.update_calls, span or wall, 3),
        extra={
            "burst_span_s": span,
            "errors": sorted({str(e.error) for e in executions if e.error}),
            "stuck": len([e for e in executions if e.status == "STUCK"]),
            "stuck_at": sorted({e.last_event for e in executions if e.status == "STUCK"}),
        },
    )


def run_burst_case(
    scenario: str,
    case: str,
    hosts: Sequence[str],
    *,
    events: Events | None = None,
    faults: Mapping[str, Any] | None = None,
    crash_rate: float = 0.0,
    throttle_bursts: bool = False,
    prune_during: int = 0,
    heal_with_pruning: bool = False,
    window: int = WINDOW,
    overrides: Mapping[str, str] | None = None,
) -> tuple[Row, list[tuple[float, int]]]:
    """A burst of ``events`` (default: one native finding per host) that should block every host in
    ``hosts``; optionally faults, crashes, concurrent pruning, and a pruning run to heal any gap.
    ``overrides``: stack config on top of the bench's (``firewallPolicyType`` for the NG rows)."""
    with Session(overrides) as session:
        expired: list[str] = []
        if prune_during:
            expired = documentation_hosts(len(hosts) + prune_during)[len(hosts) :]
            seed(session, expired, expires_at=session.sandbox.clock.now() - 1)
        if faults:
            session.set_faults(**faults)
        chosen_cidrs: set[str] = set()
        if crash_rate:
            chosen = set(random.Random(SEED).sample(sorted(hosts), max(1, int(len(hosts) * crash_rate))))
            chosen_cidrs = {f"{host}/32" for host in chosen}
            session.instrument.crash = _crash_block_of(chosen_cidrs)
        stop = threading.Event()
        helpers: list[threading.Thread] = []
        prune_runs: list[str] = []
        if throttle_bursts:
            helpers.append(threading.Thread(target=_throttle_brownouts, args=(session, stop), daemon=True))
        if prune_during:

            def prune() -> None:
                while not stop.wait(0.5):
                    prune_runs.append(session.sandbox.run_pruning().status)

            helpers.append(threading.Thread(target=prune, daemon=True))
        before = session.tally()
        session.instrument.take()
        for helper in helpers:
            helper.start()
        wall = time.perf_counter()
        executions, most, began = burst(session, native_events(hosts) if events is None else events, window)
        wall = time.perf_counter() - wall
        stop.set()
        for helper in helpers:
            helper.join()
        requested = {ledger_key(host) for host in hosts}
        if crash_rate:
            # One more finding whose block crashes after the burst: no later execution folds its
            # pending host in, so only the next pruning run can close that gap.
            (tail,) = documentation_hosts(len(hosts) + 1)[len(hosts) :]
            chosen_cidrs.add(f"{tail}/32")
            requested.add(f"{tail}/32")
            executions += burst(session, native_events([tail]), 1)[0]
        session.set_faults()
        counted = session.tally() - before
        row = burst_row(
            session,
            scenario,
            case,
            requested,
            executions,
            session.instrument.take(),
            counted,
            wall,
            most,
            chosen_cidrs,
        )
        if prune_during:
            row.extra["pruning_runs_during_burst"] = len(prune_runs)
            row.extra["pruning_runs_failed"] = sum(1 for status in prune_runs if status != "SUCCEEDED")
            row.extra["expired_hosts_left"] = len(set(f"{h}/32" for h in expired) & session.group_hosts())
        if heal_with_pruning:
            row.extra["gap_before_pruning"] = row.hosts_lost
            result = session.sandbox.run_pruning()
            after_prune = session.group_hosts()
            row.extra["pruning_status"] = result.status
            row.hosts_in_group = len(requested & after_prune)
            row.hosts_lost = len(requested - after_prune)
            row.extra["gap_after_pruning"] = row.hosts_lost
        failures = readings.failure_notifications(session.notifications())
        if failures:
            row.extra["failure_errors"] = sorted({readings.failure_error(n) for n in failures})
            row.extra["failure_causes"] = sorted({readings.failure_cause(n)[:300] for n in failures})[:5]
        row.extra["in_ledger_not_in_group"] = len(
            (session.ledger_hosts() & requested) - session.group_hosts()
        )
        blocked_times = sorted(e.blocked_at - began for e in executions if e.blocked_at is not None)
        curve = [(round(t, 3), n) for n, t in enumerate(blocked_times, start=1)]
        return row, curve


def _crash_block_of(doomed: set[str]) -> Callable[[str, Any], bool]:
    """The block handler dies for an execution that recorded one of ``doomed`` as new (the set is
    read at each call: hosts added to it later are doomed too)."""

    def crash(name: str, event: Any) -> bool:
        return name == "block" and bool(readings.new_hosts(event) & doomed)

    return crash


def _throttle_brownouts(session: Session, stop: threading.Event) -> None:
    """Every 1.5 s, half a second in which every rule-group call is throttled, until ``stop``.

    (A count-based plan, "the next 8 calls" re-armed every 1.5 s, starves a lone writer whose backoff
    keeps it under 8 calls per 1.5 s for ever; AWS's token buckets let a slow caller through.)
    """
    while True:
        session.set_faults(throttle_rate=1.0)
        if stop.wait(0.5):
            break
        session.set_faults()
        if stop.wait(1.0):
            break
    session.set_faults()
