"""Faults: 100 findings (10 with ``--quick``) under each injected fault, then one pruning run."""

from typing import Any

from nfw_blocklist.bench.bursts import run_burst_case
from nfw_blocklist.bench.report import Report, Target
from nfw_blocklist.findings import documentation_hosts


def run(quick: bool) -> Report:
    size = 10 if quick else 100
    hosts = documentation_hosts(size)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("30% UpdateRuleGroup InvalidToken", {"faults": {"token_conflict_rate": 0.3}}),
        ("ThrottlingException bursts", {"throttle_bursts": True}),
        ("crash after ledger write (10% + last)", {"crash_rate": 0.1}),
        ("pruning during the burst", {"prune_during": max(5, size // 10)}),
    ]
    report = Report()
    for case, options in cases:
        row, _ = run_burst_case("faults", case, hosts, heal_with_pruning=True, **options)
        report.rows.append(row)
        unexpected = row.failed_executions - row.injected_failures
        ok = row.hosts_lost == 0
        detail = f"gap {row.extra.get('gap_before_pruning')} before pruning, {row.hosts_lost} lost after"
        if "expired_hosts_left" in row.extra:
            ok = ok and row.extra["expired_hosts_left"] == 0
            detail += f"; {row.extra['expired_hosts_left']} expired hosts left"
        report.targets.append(Target(f"faults: {case}: no host lost, gap healed by pruning", ok, detail))
        errors = ", ".join(row.extra.get("failure_errors", [])) or "none"
        report.targets.append(
            Target(
                f"faults: {case}: no failed execution besides injected crashes (bench check)",
                unexpected == 0,
                f"{unexpected} unexpected of {row.failed_executions} failed; failure errors: {errors}",
            )
        )
    return report
