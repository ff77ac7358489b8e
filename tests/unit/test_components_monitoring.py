"""Monitoring under Pulumi mocks: alarms on metrics that exist, notifying the topic; a valid dashboard."""

import copy
import json
import re

import pytest

from components.config import InvalidConfig
from components.dashboard import (
    FIREWALL_DROP_SEARCH,
    FIREWALL_WOULD_DROP_SEARCH,
    MetricReference,
    body_problems,
    dashboard_name,
    referenced_metrics,
)
from nfw_blocklist.render import RenderError, render_stack
from nfw_blocklist.sandbox.monitoring import KnownResources, key_lets_cloudwatch_publish

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def known(rendered) -> KnownResources:
    def states(type_: str, key: str) -> frozenset[str]:
        return frozenset(str(r.state[key]) for r in rendered.resources if r.type == type_)

    return KnownResources(
        state_machine_arns=states("aws:sfn/stateMachine:StateMachine", "arn"),
        queue_names=states("aws:sqs/queue:Queue", "name"),
        function_names=states("aws:lambda/function:Function", "name"),
        rule_group_names=states("aws:networkfirewall/ruleGroup:RuleGroup", "name"),
    )


def alarm_metric(alarm) -> MetricReference:
    inputs = alarm.inputs
    return MetricReference(
        inputs["namespace"], inputs["metricName"], tuple(sorted(inputs.get("dimensions", {}).items()))
    )


def body_of(rendered) -> dict:
    [dashboard] = [r for r in rendered.resources if r.type == DASHBOARD]
    return json.loads(dashboard.inputs["dashboardBody"])


@pytest.fixture(scope="module")
def dev(render_dev):
    return render_dev()


def test_every_alarm_notifies_the_notification_topic_and_nothing_else(dev):
    topic = dev.by_name("nfw-blocklist-notifications").state["arn"]
    alarms = [r for r in dev.resources if r.type == ALARM]

    assert (
        len(alarms) == 15
    )  # both workflows, dead letters, capacity, brake, errors + throttles of 5 functions
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic], alarm.urn
        assert not alarm.inputs.get("okActions") and not alarm.inputs.get("insufficientDataActions"), (
            alarm.urn
        )


def test_every_alarm_watches_a_metric_the_functions_emit_or_a_resource_of_the_render_publishes(dev):
    resources = known(dev)
    watched = {}
    for alarm in (r for r in dev.resources if r.type == ALARM):
        metric = alarm_metric(alarm)
        assert resources.metric_problem(metric) is None, (alarm.urn, resources.metric_problem(metric))
        watched[(metric.namespace, metric.name)] = watched.get((metric.namespace, metric.name), 0) + 1

    assert watched == {
        ("AWS/States", "ExecutionsFailed"): 2,
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): 1,
        ("NfwBlocklist", "CapacityUsedPercent"): 1,
        ("NfwBlocklist", "BrakeRefused"): 1,
        ("AWS/Lambda", "Errors"): 5,
        ("AWS/Lambda", "Throttles"): 5,
    }


def test_every_function_of_the_stack_has_an_errors_and_a_throttles_alarm(dev):
    functions = {str(r.state["name"]) for r in dev.resources if r.type == "aws:lambda/function:Function"}
    watched = {
        (alarm.inputs["metricName"], alarm.inputs["dimensions"]["FunctionName"])
        for alarm in dev.resources
        if alarm.type == ALARM and alarm.inputs["namespace"] == "AWS/Lambda"
    }

    assert {name.split("-")[-2] for name in functions} == {"record", "block", "prune", "steer", "annotate"}
    assert watched == {(metric, name) for name in functions for metric in ("Errors", "Throttles")}


def test_the_capacity_alarm_fires_at_the_configured_percent_and_keeps_its_state_without_data(render_dev):
    [capacity] = [
        r for r in render_dev(capacityAlarmPercent="90").resources if r.type == ALARM and "capacity" in r.name
    ]

    assert (capacity.inputs["threshold"], capacity.inputs["comparisonOperator"]) == (
        90,
        "GreaterThanOrEqualToThreshold",
    )
    assert capacity.inputs["treatMissingData"] == "ignore"


def test_failure_alarms_treat_missing_data_as_nothing_failed(dev):
    for alarm in (r for r in dev.resources if r.type == ALARM and "capacity" not in r.name):
        assert alarm.inputs["treatMissingData"] == "notBreaching", alarm.urn
        assert alarm.inputs["threshold"] == 1, alarm.urn


def test_alarms_false_creates_no_alarm_but_keeps_the_dashboard(render_dev):
    rendered = render_dev(alarms="false")

    assert [r.urn for r in rendered.resources if r.type == ALARM] == []
    assert len([r for r in rendered.resources if r.type == DASHBOARD]) == 1


@pytest.mark.parametrize("value", ["0", "101"])
def test_a_capacity_alarm_percent_outside_1_to_100_is_refused_naming_the_key(value):
    with pytest.raises(
        InvalidConfig, match="nfw-blocklist:capacityAlarmPercent must be an integer from 1 to 100"
    ):
        render_stack("dev", {"capacityAlarmPercent": value})


@pytest.mark.parametrize("value", ["eighty", "80.5"])
def test_a_capacity_alarm_percent_that_is_no_integer_is_refused_as_the_cli_refuses_it(value):
    # Pulumi.yaml declares the key an integer: the CLI refuses the stack before the program runs.
    with pytest.raises(RenderError, match="'capacityAlarmPercent' must be of type 'integer'"):
        render_stack("dev", {"capacityAlarmPercent": value})


def test_the_topic_key_lets_this_accounts_alarms_publish_and_nobody_elses(dev):
    [key] = [r for r in dev.resources if r.type == "aws:kms/key:Key"]
    alarm = next(r for r in dev.resources if r.type == ALARM)
    alarm_arn = alarm.state["arn"]
    policy = key.inputs["policy"]

    assert key_lets_cloudwatch_publish(policy, "123456789012", "us-east-1", alarm_arn)
    assert not key_lets_cloudwatch_publish(policy, "210987654321", "us-east-1", alarm_arn)
    assert not key_lets_cloudwatch_publish(None, "123456789012", "us-east-1", alarm_arn), "the default policy"
    without_data_key = json.loads(policy)
    without_data_key["Statement"][1]["Action"] = ["kms:Decrypt"]
    assert not key_lets_cloudwatch_publish(
        json.dumps(without_data_key), "123456789012", "us-east-1", alarm_arn
    )


def test_the_dashboard_body_is_valid_and_reads_only_metrics_that_exist(dev):
    body = body_of(dev)
    resources = known(dev)

    assert body_problems(json.dumps(body)) == []
    plain, expressions = referenced_metrics(body)
    assert [resources.metric_problem(metric) for metric in plain] == [None] * len(plain)
    assert expressions == [FIREWALL_DROP_SEARCH, FIREWALL_WOULD_DROP_SEARCH], "drops and monitor mode's count"
    assert {(m.namespace, m.name) for m in plain} >= {
        ("NfwBlocklist", "HostsInGroup"),
        ("NfwBlocklist", "CapacityUsedPercent"),
        ("NfwBlocklist", "HostsBlocked"),
        ("NfwBlocklist", "HostsEvicted"),
        ("NfwBlocklist", "HostsPruned"),
        ("AWS/States", "ExecutionsSucceeded"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    }


def _edit_first_metric(index: int, value: str):
    def edit(body: dict) -> None:
        body["widgets"][1]["properties"]["metrics"][0][index] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        (_edit_first_metric(1, "HostsBlockd"), "has no metric 'HostsBlockd'"),
        (_edit_first_metric(2, "RuleGroupName"), "with the dimension RuleGroup alone"),
        (_edit_first_metric(3, "nfw-blocklist-rules-0000000"), "is not a resource this program creates"),
        (_edit_first_metric(0, "NfwBlocklist2"), "namespace 'NfwBlocklist2'"),
    ],
)
def test_a_widget_reading_a_metric_that_does_not_exist_is_found(dev, edit, complaint):
    body = copy.deepcopy(body_of(dev))
    edit(body)

    plain, _ = referenced_metrics(body)
    problems = [known(dev).metric_problem(metric) for metric in plain]
    assert any(problem and complaint in problem for problem in problems), problems


def _widget(**changes):
    def edit(body: dict) -> None:
        body["widgets"][1].update(changes)

    return edit


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        (_widget(x=20), "passes the grid's 24 columns"),
        (_widget(width=25), "width 25"),
        (_widget(type="graph"), "type 'graph'"),
        (_widget(height=0), "height 0"),
        (_widget(properties={"metrics": [["NfwBlocklist"]]}), "region"),
        (
            _widget(
                properties={"region": "us-east-1", "metrics": [["NfwBlocklist", "HostsBlocked", "RuleGroup"]]}
            ),
            "[",
        ),
        (
            _widget(
                properties={"region": "us-east-1", "metrics": [[{"expression": "SEARCH('x')", "id": "E1"}]]}
            ),
            "id",
        ),
        (_widget(properties={"region": "us-east-1", "period": 90, "metrics": [["A", "B"]]}), "period 90"),
        (lambda body: body.update(widgets=body["widgets"] * 100), "at most 500"),
        (lambda body: body.pop("widgets"), "widgets array"),
    ],
)
def test_a_body_cloudwatch_would_refuse_is_refused_with_the_reason(dev, edit, complaint):
    body = copy.deepcopy(body_of(dev))
    edit(body)

    problems = body_problems(json.dumps(body))
    assert any(complaint in problem for problem in problems), problems


def test_dashboard_names_keep_to_cloudwatchs_characters_and_differ_for_different_stacks():
    assert dashboard_name("nfw-blocklist", "dev", "nfw-blocklist") == "nfw-blocklist-dev"
    assert dashboard_name("nfw-blocklist", "dev", "edge") == "nfw-blocklist-dev-edge"
    assert dashboard_name("p", "a.b", "p") != dashboard_name("p", "a-b", "p")
    assert re.fullmatch(r"p-a-b-[0-9a-f]{7}", dashboard_name("p", "a.b", "p"))
    assert len(dashboard_name("p" * 200, "s" * 200, "c")) <= 255
