"""Next Generation: the burst and the scale cases on a FIREWALL group (``firewallPolicyType:
next-generation``), beside the Classic rows: 1,000 findings for distinct hosts, then one host blocked and
one pruned on top of 14,000 seeded hosts (10 findings and 50 hosts with ``--quick``)."""

from nfw_blocklist.bench.bursts import run_burst_case
from nfw_blocklist.bench.report import Report, Target
from nfw_blocklist.bench.scenarios.scale import run_sizes
from nfw_blocklist.findings import documentation_hosts

OVERRIDES = {"firewallPolicyType": "next-generation"}
SCENARIO = "next-generation"


def run(quick: bool) -> Report:
    size = 10 if quick else 1000
    row, _ = run_burst_case(
        SCENARIO, f"burst, {size} findings", documentation_hosts(size), overrides=OVERRIDES
    )
    report = Report(rows=[row])
    report.targets.append(
        Target(
            f"{SCENARIO} burst: {size}/{size} blocked, none lost, no failed execution",
            row.hosts_in_group == size and row.hosts_lost == 0 and row.failed_executions == 0,
            f"{row.hosts_in_group}/{size} blocked, {row.hosts_lost} lost, {row.failed_executions} failed",
        )
    )
    report.merge(run_sizes([0, 50] if quick else [0, 14000], quick, OVERRIDES, SCENARIO))
    return report
