"""The bench's ratios and tables, on rows built by hand (no sandbox)."""

from nfw_blocklist.bench.measure import ratio
from nfw_blocklist.bench.report import RATIO_COLUMNS, Row, table
from nfw_blocklist.bench.scenarios.scale import _add_cpu_ratios


def test_cpu_per_finding_is_compared_with_the_same_case_at_zero_hosts():
    rows = [
        Row("scale", "0 hosts, block +1", handler_cpu_ms_per_finding=6.0),
        Row("scale", "0 hosts, prune 1", handler_cpu_ms_per_finding=10.0),
        Row("scale", "14000 hosts, block +1", handler_cpu_ms_per_finding=96.0),
        Row("scale", "14000 hosts, prune 1", handler_cpu_ms_per_finding=1700.0),
    ]

    _add_cpu_ratios(rows)

    assert [row.cpu_over_empty for row in rows] == [1.0, 1.0, 16.0, 170.0]


def test_a_ratio_over_nothing_is_no_figure_rather_than_an_error():
    assert ratio(12, 0) is None
    assert ratio(1000, 58) == 17.24


def test_the_ratio_table_shows_a_missing_ratio_as_a_dash():
    rows = [Row("burst", "10 findings", findings_per_update=5.0, updates_per_second=0.5)]

    lines = table(rows, markdown=True, columns=RATIO_COLUMNS).splitlines()

    assert lines[0].startswith("| scenario | case | findings/Update")
    assert lines[2] == "| burst | 10 findings | 5 | 0.5 | 0 | - |"
