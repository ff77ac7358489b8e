"""The benchmark's machinery on tiny bursts: the report has its shape and its figures add up.

No timing is asserted: figures depend on the machine; ``make bench`` publishes them.
"""

import json

from nfw_blocklist import bench
from nfw_blocklist.findings import documentation_hosts


def test_quick_burst_reports_every_figure_and_loses_no_host(capsys):
    assert bench.main(["--quick", "--scenario", "burst", "--json", "--no-package"]) == 0

    payload = json.loads(capsys.readouterr().out)
    assert {"date", "command", "machine", "latency", "rows", "targets", "curve", "package"} <= set(payload)
    assert payload["machine"]["nproc"] >= 1
    (row,) = payload["rows"]
    for key in (
        "hosts_requested", "hosts_in_group", "hosts_lost", "failed_executions", "update_calls",
        "describe_calls", "token_conflicts", "items_read_per_finding", "latency_p50_s", "latency_p95_s",
        "latency_max_s", "wall_s", "handler_cpu_ms_per_finding", "peak_memory_mb", "max_in_flight",
    ):  # fmt: skip
        assert key in row
    assert row["hosts_requested"] == row["executions"] == 10
    assert row["hosts_in_group"] == 10
    assert row["hosts_lost"] == 0
    assert row["failed_executions"] == 0
    assert row["update_calls"] >= 1
    assert row["describe_calls"] >= 1  # a warm writer that wrote last may update without describing
    assert row["findings_per_update"] == round(row["executions"] / row["update_calls"], 2)
    span = row["extra"]["burst_span_s"]  # first execution's start to the last one's stop
    assert 0 < span <= row["wall_s"]
    assert row["updates_per_second"] == round(row["update_calls"] / span, 3)
    assert len(payload["curve"]) == 10
    assert [target["name"] for target in payload["targets"]]


def test_quick_storm_reports_lost_hosts_failures_and_ledger_contention(capsys):
    assert bench.main(["--quick", "--scenario", "storm", "--json", "--no-package"]) == 0

    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["scenario"] == "storm"
    assert row["hosts_requested"] == 11  # the shared host and each finding's own
    assert row["executions"] == row["max_in_flight"] == 10  # every finding in flight at once
    assert row["hosts_in_group"] + row["hosts_lost"] == row["hosts_requested"]
    assert row["failure_notifications"] == row["failed_executions"]  # each failure says "Blocked: false"
    for key in (
        "ledger_write_conflicts", "task_retries", "update_calls", "describe_calls",
        "latency_p50_s", "latency_p95_s", "findings_per_update", "updates_per_second",
    ):  # fmt: skip
        assert isinstance(row[key], int | float), key
    assert row["extra"]["pruning_status"] == "SUCCEEDED"  # "lost" is counted after a pruning run


def test_a_crash_between_ledger_and_group_is_healed_by_the_next_pruning_run():
    row, _ = bench.run_burst_case(
        "faults", "crash", documentation_hosts(8), crash_rate=0.25, heal_with_pruning=True
    )

    assert row.injected_failures == 3  # two in the burst, one after it
    assert row.failed_executions == row.injected_failures
    assert row.extra["gap_before_pruning"] >= 1  # the crash after the burst: nothing else heals it
    assert row.extra["pruning_status"] == "SUCCEEDED"
    assert row.extra["gap_after_pruning"] == 0
    assert row.hosts_lost == 0
    assert row.hosts_in_group == 9


def test_the_archive_holds_the_handlers_package_alone():
    archive = bench.archive_size()

    assert archive["files"] >= 10
    assert 0 < archive["bytes"] < archive["uncompressed_bytes"]
