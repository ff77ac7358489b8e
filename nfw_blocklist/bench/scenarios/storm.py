"""Storm: a scanner probing many instances at once (issue 9 item 1).

40, 100 and 200 port-probe findings (10 with ``--quick``), all in flight at once, each naming one
host every finding shares plus one host of its own, then one pruning run. Every finding's record step
writes the shared host's ledger item at the same moment, so this measures what contention on one
ledger item costs: lost hosts, failed executions and their "Blocked: false" notifications, refused
conditional writes and the state machines' retries.
"""

from nfw_blocklist.bench.bursts import run_burst_case
from nfw_blocklist.bench.report import Report, Target
from nfw_blocklist.findings import documentation_hosts, port_probe_finding

SIZES = (40, 100, 200)
QUICK_SIZES = (10,)


def run(quick: bool) -> Report:
    report = Report()
    for size in QUICK_SIZES if quick else SIZES:
        shared, *own = documentation_hosts(size + 1)
        events = [(f"{host}/32", port_probe_finding([shared, host])) for host in own]
        row, _ = run_burst_case(
            "storm",
            f"{size} findings sharing a host",
            [shared, *own],
            events=events,
            window=size,
            heal_with_pruning=True,
        )
        report.rows.append(row)
        errors = ", ".join(row.extra.get("failure_errors", [])) or "none"
        report.targets.append(
            Target(
                f"storm: {size} findings sharing a host: no host lost, no failed execution",
                row.hosts_lost == 0 and row.failed_executions == 0,
                f"{row.hosts_lost} of {row.hosts_requested} hosts lost after a pruning run "
                f"({row.extra.get('gap_before_pruning')} before it); {row.failed_executions} of "
                f"{row.executions} executions failed ({errors}), {row.failure_notifications} "
                f'"Blocked: false" notifications; {row.ledger_write_conflicts} ledger write conflicts, '
                f"{row.task_retries} task retries",
            )
        )
    return report
