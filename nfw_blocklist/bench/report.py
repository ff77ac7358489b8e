"""The report: rows of figures, the targets they are judged on, and how they are printed and plotted.

Each row carries absolute figures (which depend on the machine's speed and load) and, beside them,
ratios that hold across machines of different speeds (BENCHMARKS.md defines them).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Target:
    name: str
    passed: bool
    detail: str


@dataclass
class Row:
    """One line of the table."""

    scenario: str
    case: str
    hosts_requested: int = 0
    hosts_in_group: int = 0
    hosts_lost: int = 0
    executions: int = 0
    failed_executions: int = 0
    injected_failures: int = 0
    failure_notifications: int = 0
    """``"Blocked": "false"`` messages published (one per failed execution)."""
    update_calls: int = 0
    describe_calls: int = 0
    token_conflicts: int = 0
    throttles: int = 0
    ledger_write_conflicts: int = 0
    """Conditional ledger writes refused because another execution wrote the item first."""
    task_retries: int = 0
    """Lambda task invocations beyond one per state entered: the state machines' retries."""
    items_read_per_finding: float = 0.0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_max_s: float | None = None
    wall_s: float = 0.0
    handler_cpu_ms_per_finding: float = 0.0
    """Handler CPU excluding moto's in-process answers to its AWS calls."""
    handler_cpu_ms_per_finding_incl_emulation: float = 0.0
    peak_memory_mb: float = 0.0
    """Peak RSS of the process running the handlers (and moto, and the state machines)."""
    handler_peak_alloc_mb: float | None = None
    """tracemalloc peak during one handler call (scale scenario only)."""
    max_in_flight: int | None = None
    findings_per_update: float | None = None
    """Findings (response executions) per UpdateRuleGroup call."""
    updates_per_second: float | None = None
    """UpdateRuleGroup calls per second of burst duration (bursts only)."""
    cpu_over_empty: float | None = None
    """Handler CPU per finding over the same case's at 0 hosts (scale only)."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    curve: list[tuple[float, int]] = field(default_factory=list)
    """Burst: (seconds since the first start, hosts whose BlockHosts had succeeded)."""
    notes: list[str] = field(default_factory=list)

    def merge(self, other: "Report") -> None:
        self.rows += other.rows
        self.targets += other.targets
        self.curve = self.curve or other.curve
        self.notes += other.notes

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "Report":
        """The report a ``--json`` run printed (a scenario run in its own process)."""
        return cls(
            rows=[Row(**row) for row in payload["rows"]],
            targets=[Target(**target) for target in payload["targets"]],
            curve=[(t, n) for t, n in payload["curve"]],
            notes=payload["notes"],
        )


COLUMNS = [
    ("case", "case"),
    ("hosts_requested", "req"),
    ("hosts_in_group", "in group"),
    ("hosts_lost", "lost"),
    ("executions", "execs"),
    ("failed_executions", "failed"),
    ("failure_notifications", "Blocked false"),
    ("update_calls", "Update"),
    ("describe_calls", "Describe"),
    ("token_conflicts", "conflicts"),
    ("throttles", "throttled"),
    ("ledger_write_conflicts", "ledger conflicts"),
    ("task_retries", "retries"),
    ("items_read_per_finding", "items/finding"),
    ("latency_p50_s", "p50 s"),
    ("latency_p95_s", "p95 s"),
    ("latency_max_s", "max s"),
    ("wall_s", "wall s"),
    ("handler_cpu_ms_per_finding", "CPU ms/finding"),
    ("peak_memory_mb", "peak RSS MB"),
]
"""The absolute figures: they move with the machine's speed and load."""
RATIO_COLUMNS = [
    ("case", "case"),
    ("findings_per_update", "findings/Update"),
    ("updates_per_second", "Update/s of burst"),
    ("items_read_per_finding", "items/finding"),
    ("cpu_over_empty", "CPU/finding over 0 hosts"),
]
"""The ratios that should hold on another machine of a different speed (BENCHMARKS.md)."""


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def table(rows: Sequence[Row], markdown: bool = False, columns: Sequence[tuple[str, str]] = COLUMNS) -> str:
    header = ["scenario", *[title for _, title in columns]]
    body = [[row.scenario, *[_cell(getattr(row, key)) for key, _ in columns]] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        for cells in [header, *body]
    )


def text(report: Report, package: dict[str, Any], total_wall_s: float, markdown: bool = False) -> str:
    """The human-readable report: the figures, the ratios, each case's details, the targets, the package."""
    lines = [table(report.rows, markdown=markdown), "", "Ratios:", ""]
    lines += [table(report.rows, markdown=markdown, columns=RATIO_COLUMNS), ""]
    for row in report.rows:
        details = {key: value for key, value in row.extra.items() if value not in (None, [], {})}
        details["cpu_ms_incl_moto"] = row.handler_cpu_ms_per_finding_incl_emulation
        if row.handler_peak_alloc_mb is not None:
            details["handler_peak_alloc_mb"] = row.handler_peak_alloc_mb
        if row.max_in_flight is not None:
            details["max_in_flight"] = row.max_in_flight
        lines.append(f"{row.scenario} / {row.case}: {json.dumps(details)}")
    lines.append("")
    for target in report.targets:
        lines.append(f"[{'PASS' if target.passed else 'FAIL'}] {target.name}: {target.detail}")
    if package:
        archive, imports = package["archive"], package["imports"]
        lines.append(f"\nLambda archive: {archive['bytes']} bytes zipped ({archive['files']} files)")
        lines.append(
            f"cold import handlers.entry: {imports['entry_wall_ms']} ms, "
            f"process RSS {imports['entry_process_rss_mb']} MB"
        )
        lines += [f"  {module}: {ms} ms" for module, ms in imports["cumulative_ms"].items()]
    lines.append(f"\ntotal {total_wall_s} s")
    return "\n".join(lines)


def plot(curve: Sequence[tuple[float, int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    axes.step([t for t, _ in curve], [n for _, n in curve], where="post")
    axes.set_xlabel("seconds since the first execution started")
    axes.set_ylabel("hosts blocked (BlockHosts succeeded)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
