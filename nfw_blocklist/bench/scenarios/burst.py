"""Burst: 1,000 findings for distinct hosts, 50 in flight (10 with ``--quick``)."""

from nfw_blocklist.bench.bursts import run_burst_case
from nfw_blocklist.bench.report import Report, Target
from nfw_blocklist.findings import documentation_hosts


def run(quick: bool) -> Report:
    size = 10 if quick else 1000
    row, curve = run_burst_case("burst", f"{size} findings", documentation_hosts(size))
    report = Report(rows=[row], curve=curve)
    report.targets.append(
        Target(
            f"burst: {size}/{size} blocked, none lost, no failed execution",
            row.hosts_in_group == size and row.hosts_lost == 0 and row.failed_executions == 0,
            f"{row.hosts_in_group}/{size} blocked, {row.hosts_lost} lost, {row.failed_executions} failed",
        )
    )
    limit = max(1, size // 10)
    report.targets.append(
        Target(
            f"burst: at most {limit} UpdateRuleGroup calls",
            row.update_calls <= limit,
            f"{row.update_calls} UpdateRuleGroup calls",
        )
    )
    return report
