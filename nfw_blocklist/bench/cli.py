"""``python -m nfw_blocklist.bench``: run the scenarios, print or save the report.

python -m nfw_blocklist.bench                  # every scenario, the tables
python -m nfw_blocklist.bench --json           # the same, as JSON
python -m nfw_blocklist.bench --quick          # small sizes (the smoke test)
python -m nfw_blocklist.bench --scenario storm # one scenario (repeatable)
python -m nfw_blocklist.bench --plot bench-results/burst.png  # also draw the burst curve there

Files are written only where a flag says: ``--save`` and ``--plot``.
"""

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nfw_blocklist.bench.driver import WINDOW
from nfw_blocklist.bench.package import REPO, archive_size, import_times, machine
from nfw_blocklist.bench.report import Report, plot, text
from nfw_blocklist.bench.scenarios import SCENARIOS
from nfw_blocklist.bench.session import LATENCY

DESCRIPTION = (
    "make bench: burst, scale, fault, duplicate and storm scenarios against the sandbox, with figures."
)


def run(scenarios: Sequence[str], quick: bool, isolate: bool = False, jobs: int = 1) -> Report:
    """Run ``scenarios``; with ``isolate`` each in its own interpreter (so peak RSS is per scenario),
    ``jobs`` of them at a time (each is one GIL-bound process, so two share two cores well), then
    the ones measured ``alone``, one at a time."""
    report = Report()
    if not isolate:
        for name in scenarios:
            report.merge(SCENARIOS[name].run(quick))
        return report

    def child(name: str) -> Report:
        command = [sys.executable, "-m", "nfw_blocklist.bench", "--scenario", name, "--json", "--no-package"]
        if quick:
            command.append("--quick")
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-5000:])
            raise SystemExit(f"scenario {name} failed (exit {done.returncode})")
        return Report.from_payload(json.loads(done.stdout))

    together = [name for name in scenarios if not SCENARIOS[name].alone]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        reports = list(pool.map(child, together))
    reports += [child(name) for name in scenarios if SCENARIOS[name].alone]
    for each in reports:
        report.merge(each)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nfw_blocklist.bench", description=DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the smoke test")
    parser.add_argument(
        "--scenario", choices=list(SCENARIOS), action="append", help="run only this (repeatable)"
    )
    parser.add_argument(
        "--plot", type=Path, help="draw the burst curve into this PNG file (no plot without it)"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="scenarios run at once, each in its own process (default 2)"
    )
    parser.add_argument("--save", type=Path, help="also write the JSON report to this file")
    parser.add_argument("--no-package", action="store_true", help="skip the archive size and import times")
    args = parser.parse_args(argv)
    scenarios = args.scenario or list(SCENARIOS)
    if args.plot is not None:
        if "burst" not in scenarios:
            parser.error("--plot draws the burst scenario's curve; add --scenario burst")
        if not args.plot.parent.is_dir():
            parser.error(f"--plot: no such directory: {args.plot.parent}")
    began = time.perf_counter()
    report = run(scenarios, args.quick, isolate=len(scenarios) > 1, jobs=args.jobs)
    package: dict[str, Any] = {}
    if not args.no_package:
        package = {"archive": archive_size(), "imports": import_times()}
    if args.plot is not None and report.curve:
        burst_rows = [row for row in report.rows if row.scenario == "burst"] or report.rows
        plot(report.curve, args.plot, f"Burst: {burst_rows[0].hosts_requested} findings, {WINDOW} in flight")
    total_wall_s = round(time.perf_counter() - began, 1)
    payload = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python -m nfw_blocklist.bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "latency": {op: list(bounds) for op, bounds in LATENCY.items()},
        "window": WINDOW,
        "jobs": args.jobs if len(scenarios) > 1 else 1,
        "quick": args.quick,
        "rows": [asdict(row) for row in report.rows],
        "targets": [asdict(target) for target in report.targets],
        "curve": report.curve,
        "notes": report.notes,
        "package": package,
        "total_wall_s": total_wall_s,
    }
    if args.save:
        args.save.write_text(json.dumps(payload, indent=2) + "\n")
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(text(report, package, total_wall_s, markdown=args.markdown))
    return 0
