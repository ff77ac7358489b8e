"""``make bench``: burst, scale, fault, duplicate and storm scenarios against the sandbox, with figures.

Every scenario deploys the real render into the sandbox (moto running the real state machines, the
rule-group emulator with realistic latency) and drives it the way EventBridge would. The package:

- ``scenarios/``: one module per scenario, and the table that registers them (``scenarios.SCENARIOS``);
- ``session``: one instrumented sandbox; ``driver``: how a burst drives it; ``seeding``: filling it;
- ``bursts``: a burst with optional faults, and the row of figures it yields (shared by four scenarios);
- ``measure``: the measurement (handler-call instrument, counters, percentiles, memory);
- ``readings``: everything read of the handlers' payloads, counters and ledger items;
- ``report``: rows, targets, tables and the plot; ``package``: the Lambda archive and cold imports;
- ``cli``: ``python -m nfw_blocklist.bench`` and its flags.
"""

from nfw_blocklist.bench.bursts import run_burst_case
from nfw_blocklist.bench.cli import main, run
from nfw_blocklist.bench.package import archive_size, import_times
from nfw_blocklist.bench.report import Report, Row, Target
from nfw_blocklist.bench.scenarios import SCENARIOS

__all__ = [
    "SCENARIOS",
    "Report",
    "Row",
    "Target",
    "archive_size",
    "import_times",
    "main",
    "run",
    "run_burst_case",
]
