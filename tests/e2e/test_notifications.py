"""Notifications per protocol, the functions' EMF metrics and the monitoring resources, in the sandbox."""

import dataclasses
import json

import pytest
from botocore.exceptions import ClientError

from components.dashboard import referenced_metrics
from handlers import metrics
from nfw_blocklist.findings import documentation_hosts, native_finding
from nfw_blocklist.render import Rendered, render_stack
from nfw_blocklist.sandbox import Sandbox, WiringError
from tests.e2e.conftest import break_function
from tests.e2e.toy_stack import toy_render

BLOCK_LINE = (
    "Blocked 198.51.100.0/32 (Backdoor:EC2.C&CActivity.B, severity 8.0, account 123456789012, us-east-1) "
    "until 2021-01-05 13:25 UTC."
)


def test_a_block_is_published_as_plain_text_for_email_and_the_reference_json_for_the_rest(
    dev_sandbox, reference_event
):
    [run] = dev_sandbox.put_event(reference_event)

    assert run.status == "SUCCEEDED"
    [email] = dev_sandbox.email_notifications()
    assert email["subject"] == "nfw-blocklist: blocked 198.51.100.0/32"
    assert email["text"].splitlines()[0] == BLOCK_LINE
    [default] = dev_sandbox.notifications()
    assert default == {
        "Blocked": "true",
        "Input": {
            "HostIp": "198.51.100.0",
            "Domain": "",
            "FindingId": reference_event["detail"]["findings"][0]["Id"],
            "Timestamp": "2021-01-05T01:15:01Z",
            "AccountId": "123456789012",
            "Region": "us-east-1",
        },
        "Hosts": ["198.51.100.0/32"],
        "HostCount": 1,
        "Evicted": [],
        "EvictedCount": 0,
        "Domains": [],
        "DomainCount": 0,
        "EvictedDomains": [],
        "EvictedDomainCount": 0,
        "NotBlocked": [],
    }


def test_a_prune_that_unblocks_is_published_in_both_forms(dev_sandbox, reference_event):
    dev_sandbox.put_event(reference_event)
    [run] = dev_sandbox.advance(12 * 3600 + 60)

    assert run.status == "SUCCEEDED"
    email = dev_sandbox.email_notifications()[-1]
    assert email["subject"] == "nfw-blocklist: unblocked 198.51.100.0/32"
    assert email["text"].splitlines()[0] == "Unblocked 198.51.100.0/32 (retention expired)."
    assert dev_sandbox.notifications()[-1]["Pruned"] == ["198.51.100.0/32"]


def test_a_failure_email_says_what_failed_for_which_stack_and_hosts_what_to_do_with_console_links(
    dev_sandbox, reference_event
):
    break_function(dev_sandbox, "block")

    [run] = dev_sandbox.put_event(reference_event)

    assert run.status == "FAILED"
    email = dev_sandbox.email_notifications()[-1]
    failure = dev_sandbox.notifications()[-1]
    assert email["subject"] == "nfw-blocklist dev (us-east-1): blocking failed for 198.51.100.0/32"
    lines = str(email["text"]).splitlines()
    assert (
        lines[0] == "nfw-blocklist stack dev in us-east-1: the response workflow failed (ConfigurationError)."
    )
    # The error's own message, not the Lambda error's JSON with its escaped stack trace
    assert lines[2] == (
        "What failed: environment variable NFW_ON_CAPACITY_FULL must be one of evict-oldest, refuse"
    )
    assert (
        lines[3]
        == "Targets of this finding: 1 host: 198.51.100.0/32 (rule group nfw-blocklist-rules-3098a1b)"
    )
    assert lines[4].startswith("What is blocked now: ") and lines[5].startswith("What to do: ")
    execution_url = (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/"
        + failure["ExecutionId"]
    )
    assert f"Execution: {execution_url}" in lines
    assert (
        "Finding: https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1"
        "#/findings?fId=1234680e481690b44f7cc7e221abcdef"
    ) in lines
    assert f"Event: {reference_event['id']}" in lines
    # The JSON form stays complete: the raw cause, the execution, the targets kind by kind
    assert (failure["Blocked"], failure["Error"], failure["Stack"], failure["Region"]) == (
        "false",
        "ConfigurationError",
        "dev",
        "us-east-1",
    )
    assert "stackTrace" in failure["Cause"] and failure["ExecutionUrl"] == execution_url
    assert failure["Targets"] == {
        "address": {
            "count": 1,
            "sample": ["198.51.100.0/32"],
            "where": "rule group nfw-blocklist-rules-3098a1b",
        }
    }


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"MessageStructure": "json", "Message": json.dumps({"email": "x"})}, "No default entry"),
        ({"MessageStructure": "json", "Message": json.dumps({"default": {"a": 1}})}, "No default entry"),
        ({"MessageStructure": "json", "Message": json.dumps({"default": "x", "email": 3})}, "not a string"),
        ({"MessageStructure": "json", "Message": "not json"}, "failed to parse"),
        ({"MessageStructure": "json", "Message": json.dumps(["default"])}, "No default entry"),
        ({"Message": "x", "Subject": "two\nlines"}, "Subject"),
        ({"Message": "x", "Subject": "x" * 101}, "Subject"),
        ({"Message": "x", "Subject": "caf\u00e9"}, "Subject"),
    ],
)
def test_sns_refuses_what_aws_refuses_in_a_per_protocol_message_and_its_subject(kwargs, complaint):
    with Sandbox(toy_render()) as sandbox:
        sns = sandbox.client("sns")

        with pytest.raises(ClientError, match=complaint):
            sns.publish(TopicArn=sandbox.topic_arn, **kwargs)
        sns.publish(
            TopicArn=sandbox.topic_arn,
            Subject="x" * 100,
            MessageStructure="json",
            Message=json.dumps({"default": "{}", "email": ""}),
        )
        assert sandbox.email_notifications() == [{"subject": "x" * 100, "text": ""}]


def test_the_functions_emf_lines_are_valid_and_carry_every_metric_the_dashboard_and_alarms_read():
    # GIVEN a group with room for 4 hosts (2 units each, 1 for the placeholder), native findings on
    rendered = render_stack("dev", {"ruleGroupCapacity": "9", "findingSource": "guardduty"})
    with Sandbox(rendered) as sandbox:
        # WHEN 6 findings arrive one after another, and a prune runs after the retention
        for host in documentation_hosts(6):
            [run] = sandbox.put_event(native_finding(host))
            assert run.status == "SUCCEEDED"
        sandbox.advance(12 * 3600 + 60)
        documents = sandbox.metric_documents()
        rule_group = sandbox.inventory.rule_groups[sandbox.rule_group_arn]
        [body] = sandbox.inventory.dashboards.values()

    # THEN one line per function run (the deployment's repopulating prune, 6 blocks, the prune) is a
    # document CloudWatch extracts metrics from, for this rule group only
    assert len(documents) == 8
    assert [metrics.problems(doc) for doc in documents] == [[]] * 8
    assert {doc[metrics.DIMENSION] for doc in documents} == {rule_group}
    # AND every metric of ours the dashboard reads was emitted, with the dashboard's dimension value
    emitted = {name for doc in documents for name in metrics.UNITS if name in doc}
    ours = [m for m in referenced_metrics(body)[0] if m.namespace == metrics.NAMESPACE]
    assert {m.name for m in ours} <= emitted
    assert {dict(m.dimensions)[metrics.DIMENSION] for m in ours} == {rule_group}
    # AND the values are what happened: 6 blocked, 2 evicted, the group full, then 4 pruned
    assert sum(doc.get(metrics.HOSTS_BLOCKED, 0) for doc in documents) == 6
    assert sum(doc.get(metrics.HOSTS_EVICTED, 0) for doc in documents) == 2
    assert max(doc[metrics.CAPACITY_USED_PERCENT] for doc in documents) == 100.0
    assert documents[-1][metrics.HOSTS_PRUNED] == 4 and documents[-1][metrics.HOSTS_IN_GROUP] == 0


def _without_cloudwatch_key_statement(rendered: Rendered) -> Rendered:
    resources = []
    for resource in rendered.resources:
        if resource.type == "aws:kms/key:Key":
            inputs = {key: value for key, value in resource.inputs.items() if key != "policy"}
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    return dataclasses.replace(rendered, resources=resources)


def _alarm_action_to(rendered: Rendered, arn: str) -> Rendered:
    resources = []
    for resource in rendered.resources:
        if resource.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and resource.name.endswith("-capacity"):
            resource = dataclasses.replace(resource, inputs={**resource.inputs, "alarmActions": [arn]})
        resources.append(resource)
    return dataclasses.replace(rendered, resources=resources)


def test_an_alarm_on_a_topic_whose_key_cloudwatch_may_not_use_fails_the_deployment(dev_render):
    with pytest.raises(WiringError, match=r"CloudWatch cannot publish to .*kms:GenerateDataKey"):
        Sandbox(_without_cloudwatch_key_statement(dev_render)).start()


def test_an_alarm_notifying_another_topic_fails_the_deployment(dev_render):
    elsewhere = "arn:aws:sns:us-east-1:123456789012:someone-elses-topic"

    with pytest.raises(WiringError, match=r"-capacity: alarm action .*someone-elses-topic.* not a topic"):
        Sandbox(_alarm_action_to(dev_render, elsewhere)).start()


def test_the_sandbox_creates_every_alarm_and_the_dashboard_in_cloudwatch(dev_sandbox):
    cloudwatch = dev_sandbox.client("cloudwatch")

    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    assert len(alarms) == 15
    assert {tuple(alarm["AlarmActions"]) for alarm in alarms} == {(dev_sandbox.topic_arn,)}
    [dashboard] = cloudwatch.list_dashboards()["DashboardEntries"]
    assert dashboard["DashboardName"] == "nfw-blocklist-dev"
