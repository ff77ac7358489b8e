"""Flood: 5,000 distinct (forged) hosts in 100 port-probe findings of 50 (60 hosts in 6 findings with
``--quick``, ceiling 20) against the brake at its default ceiling: how long until it trips, how many hosts
were blocked before it, that nothing else landed, one "brake on" notification; then ``brake release`` and
100 (10) new findings of one host each: every host blocked before the release is still blocked, and new
blocks land again. (A finding per host would take 5,000 response executions, over an hour of the
sandbox's Step Functions on a shared machine; the brake counts hosts, not findings.)"""

import time

from handlers import clock
from handlers.brake import Brake
from handlers.settings import DEFAULT_BRAKE_MAX_NEW_BLOCKS
from nfw_blocklist.bench.bursts import burst_row
from nfw_blocklist.bench.driver import burst
from nfw_blocklist.bench.report import Report, Target
from nfw_blocklist.bench.session import Session
from nfw_blocklist.findings import documentation_hosts, native_finding, port_probe_finding
from nfw_blocklist.reports import sandbox_service


def run(quick: bool) -> Report:
    size, ceiling, after, per_finding = (
        (60, 20, 10, 10) if quick else (5000, DEFAULT_BRAKE_MAX_NEW_BLOCKS, 100, 50)
    )
    hosts = documentation_hosts(size + after)
    flood = [
        (f"{hosts[n]}/32", port_probe_finding(hosts[n : n + per_finding]))
        for n in range(0, size, per_finding)
    ]
    later = [(f"{host}/32", native_finding(host)) for host in hosts[size:]]
    report = Report()
    overrides = {"brakeMaxNewBlocks": str(ceiling)} if quick else {}
    with Session(overrides) as session:
        service = sandbox_service(session.sandbox)
        before = session.tally()
        session.instrument.take()
        # The findings up to the one that trips the brake, all at once: their wall time is the time to
        # trip; then the rest of the flood, every host of it refused.
        tripping = ceiling // per_finding + 1
        wall = time.perf_counter()
        executions, most, _ = burst(session, flood[:tripping])
        trip = time.perf_counter() - wall
        tripped = Brake.of(service.ledger, service.settings).state(clock.now()).engaged
        rest, most_rest, _ = burst(session, flood[tripping:])
        wall = time.perf_counter() - wall
        executions, most = executions + rest, max(most, most_rest)
        counted = session.tally() - before
        state = Brake.of(service.ledger, service.settings).state(clock.now())
        blocked_before = session.group_hosts()
        requested = {f"{host}/32" for host in hosts[:size]}
        row = burst_row(
            session, "flood", f"{size} hosts in {len(flood)} probes, brake {ceiling}", requested, executions,
            session.instrument.take(), counted, wall, most,
        )  # fmt: skip
        notices = [
            note
            for note in session.notifications()
            if isinstance(note, dict)
            and isinstance(note.get("Brake"), dict)
            and note["Brake"].get("EngagedNow")
        ]
        ledger_hosts = {
            str(item["HostIp"])
            for item in session.sandbox.ledger_items()
            if not str(item["HostIp"]).startswith("#")
        }
        service.brake_release()
        later_executions, _, _ = burst(session, later)
        after_release = session.group_hosts()
        lost = blocked_before - after_release
        row.extra.update(
            {
                "ceiling": ceiling,
                "findings_to_trip": tripping,
                "time_to_trip_s": round(trip, 2),
                "tripped_then": tripped,
                "refusing_the_rest_s": round(wall - trip, 2),
                "blocked_before_trip": len(blocked_before),
                "refused": state.refused_count,
                "brake_notifications": len(notices),
                "ledger_hosts_after_flood": len(ledger_hosts),
                "blocked_after_release": len(after_release),
                "lost_after_release": len(lost),
                "later_findings_blocked": len({host for host, _ in later} & after_release),
            }
        )
        report.rows.append(row)
        report.targets.append(
            Target(
                "flood: stops at the brake, one notification, nothing lost after release",
                len(blocked_before) == ceiling == len(ledger_hosts)
                and state.engaged
                and tripped
                and state.refused_count == size - ceiling
                and len(notices) == 1
                and not lost
                and row.extra["later_findings_blocked"] == after
                and all(e.status == "SUCCEEDED" for e in later_executions),
                f"{len(blocked_before)} blocked of {size} (ceiling {ceiling}), "
                f"{len(ledger_hosts)} in the ledger, "
                f"{state.refused_count} refused, {len(notices)} brake notification(s), tripped after "
                f"{row.extra['time_to_trip_s']} s; after release {len(lost)} lost, "
                f"{row.extra['later_findings_blocked']} of {after} new findings blocked",
            )
        )
    return report
