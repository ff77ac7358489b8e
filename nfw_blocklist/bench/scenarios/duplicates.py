"""Duplicates: 100 findings (10 with ``--quick``), each delivered three times, shuffled, 50 in flight:
the native event twice (identical, as EventBridge's at-least-once redelivery) and its Security Hub form."""

import json
import random
import time
import uuid
from typing import Any

from nfw_blocklist.bench import readings
from nfw_blocklist.bench.bursts import burst_row
from nfw_blocklist.bench.driver import burst
from nfw_blocklist.bench.report import Report, Target
from nfw_blocklist.bench.session import SEED, Session
from nfw_blocklist.findings import documentation_hosts, native_finding, sample


def securityhub_finding(host: str, finding_id: str) -> dict[str, Any]:
    """The Security Hub form of the GuardDuty finding ``finding_id`` naming ``host``."""
    base = sample("securityhub-guardduty-c2-finding.json")
    text = (
        json.dumps(base).replace("198.51.100.0", host).replace("1234680e481690b44f7cc7e221abcdef", finding_id)
    )
    event: dict[str, Any] = json.loads(text)
    event["id"] = str(uuid.uuid4())
    return event


def run(quick: bool) -> Report:
    size = 10 if quick else 100
    hosts = documentation_hosts(size)
    events: list[tuple[str, dict[str, Any]]] = []
    for host in hosts:
        finding_id = uuid.uuid4().hex
        native = native_finding(host, finding_id=finding_id)
        events += [(f"{host}/32", native), (f"{host}/32", json.loads(json.dumps(native)))]
        events.append((f"{host}/32", securityhub_finding(host, finding_id)))
    random.Random(SEED).shuffle(events)
    report = Report()
    with Session() as session:
        before = session.tally()
        session.instrument.take()
        wall = time.perf_counter()
        executions, most, _ = burst(session, events)
        wall = time.perf_counter() - wall
        counted = session.tally() - before
        requested = {f"{host}/32" for host in hosts}
        row = burst_row(
            session, "duplicates", f"{size} findings x3", requested, executions,
            session.instrument.take(), counted, wall, most,
        )  # fmt: skip
        blocked_notes = readings.success_notifications(session.notifications())
        notified_hosts = [host for note in blocked_notes for host in readings.notified_hosts(note)]
        group = session.group_hosts()
        owned_rules = session.owned_rule_count()
        row.extra.update(
            {
                "success_notifications": len(blocked_notes),
                "hosts_notified_twice": len(notified_hosts) - len(set(notified_hosts)),
                "owned_rules": owned_rules,
                "addresses_in_group": len(group),
                "ledger_items": len(session.sandbox.ledger_items()),
            }
        )
        report.rows.append(row)
        report.targets.append(
            Target(
                "duplicates: no extra rules, no extra notifications",
                len(group) == size
                and owned_rules == 2
                and len(blocked_notes) == size
                and row.extra["hosts_notified_twice"] == 0
                and row.hosts_lost == 0,
                f"{len(group)} hosts in 2 owned rules ({owned_rules} found), {len(blocked_notes)} success "
                f"notifications for {size} hosts, {row.extra['hosts_notified_twice']} hosts notified twice",
            )
        )
    return report
