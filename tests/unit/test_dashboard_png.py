"""Smoke test of the dashboard mock-up: the rendered body drawn from a few data points (no sandbox run)."""

import json

from components.dashboard import FIREWALL_DROP_SEARCH
from handlers import metrics
from nfw_blocklist.dashboard_png import Collected, plot, series_points

START = 1_609_809_300.0


def collected(rule_group: str, machine: str) -> Collected:
    docs = [
        metrics.document({metrics.HOSTS_BLOCKED: blocked}, rule_group, int((START + offset) * 1000))
        for offset, blocked in ((10, 2), (200, 3), (700, 4))
    ]
    return Collected(start=START, documents=docs, executions=[(START + 30, machine, "FAILED")])


def test_each_series_is_aggregated_per_5_minute_period_with_its_statistic(render_dev):
    rendered = render_dev()
    group = rendered.by_name("nfw-blocklist-rules").state["name"]
    machine = rendered.by_name("nfw-blocklist-response").state["arn"]
    data = collected(group, machine)

    minutes, blocked = series_points(
        ["NfwBlocklist", "HostsBlocked", "RuleGroup", group, {"stat": "Sum"}], data
    )
    assert (minutes[:3], blocked[:3]) == ([0.0, 5.0, 10.0], [5.0, 0.0, 4.0])
    _, failed = series_points(
        ["AWS/States", "ExecutionsFailed", "StateMachineArn", machine, {"stat": "Sum"}], data
    )
    assert failed[:2] == [1.0, 0.0]
    assert series_points(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"], data) is None


def test_the_rendered_dashboard_is_drawn_to_a_png(render_dev, tmp_path):
    rendered = render_dev()
    [dashboard] = rendered.of_type("aws:cloudwatch/dashboard:Dashboard")
    group = rendered.by_name("nfw-blocklist-rules").state["name"]
    machine = rendered.by_name("nfw-blocklist-response").state["arn"]
    output = tmp_path / "dashboard.png"

    plot(json.loads(dashboard.inputs["dashboardBody"]), collected(group, machine), output)

    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_firewall_drop_search_is_drawn_from_the_sandbox_firewalls_published_drops():
    data = Collected(start=START, firewall_drops=[(START + 10, 4.0), (START + 20, 2.0), (START + 400, 3.0)])

    _, drops = series_points([{"expression": FIREWALL_DROP_SEARCH, "id": "drops", "label": "dropped"}], data)

    assert drops[:3] == [6.0, 3.0, 0.0]


def test_the_dead_letter_queue_and_lambda_errors_are_drawn_from_the_sandbox():
    data = Collected(
        start=START,
        queue_depths=[(START + 900, "dlq", 0.0)],
        invocations=[(START + 30, "record-fn", "KeyError"), (START + 40, "record-fn", None)],
    )

    _, depth = series_points(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "dlq"], data)
    _, errors = series_points(["AWS/Lambda", "Errors", "FunctionName", "record-fn", {"stat": "Sum"}], data)
    _, throttles = series_points(
        ["AWS/Lambda", "Throttles", "FunctionName", "record-fn", {"stat": "Sum"}], data
    )

    assert depth == [0.0]
    assert (errors[:2], throttles[:2]) == ([1.0, 0.0], [0.0, 0.0])
