"""Domains: 1,000 DNS findings for distinct domains, 50 in flight (10 with ``--quick``), into the stateful
domain list (capacity 2,002: exactly 1,000 domains), through the same workflow as IP hosts."""

from nfw_blocklist.bench.bursts import dns_events, run_burst_case
from nfw_blocklist.bench.report import Report, Target
from nfw_blocklist.findings import documentation_domains


def run(quick: bool) -> Report:
    size = 10 if quick else 1000
    domains = documentation_domains(size)
    row, curve = run_burst_case("domains", f"{size} DNS findings", domains, events=dns_events(domains))
    report = Report(rows=[row], curve=curve)
    report.targets.append(
        Target(
            f"domains: {size}/{size} blocked, none lost, no failed execution",
            row.hosts_in_group == size and row.hosts_lost == 0 and row.failed_executions == 0,
            f"{row.hosts_in_group}/{size} blocked, {row.hosts_lost} lost, {row.failed_executions} failed",
        )
    )
    limit = max(1, size // 10)
    report.targets.append(
        Target(
            f"domains: at most {limit} UpdateRuleGroup calls",
            row.update_calls <= limit,
            f"{row.update_calls} UpdateRuleGroup calls",
        )
    )
    return report
