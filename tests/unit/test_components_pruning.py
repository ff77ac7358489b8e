"""PruningSchedule: a schedule that starts the pruning workflow, which calls the prune function."""

import json
import re

import pytest

from components.pruning import PruningSchedule


@pytest.fixture(scope="module")
def dev(render_dev):
    return render_dev()


def test_schedule_runs_every_fifteen_minutes_without_a_flexible_window(dev):
    (schedule,) = dev.of_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "rate(15 minutes)"
    assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}


def test_pruning_frequency_comes_from_config(render_dev):
    (schedule,) = render_dev(pruningFrequencyMinutes="180").of_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "rate(180 minutes)"


def test_schedule_starts_the_pruning_workflow_as_its_own_role_with_an_id(dev):
    (schedule,) = dev.of_type("aws:scheduler/schedule:Schedule")
    target = schedule.inputs["target"]
    assert target["arn"] == dev.by_name("nfw-blocklist-pruning").state["arn"]
    assert target["roleArn"] == dev.by_name("nfw-blocklist-schedule-role").state["arn"]
    assert json.loads(target["input"])["id"] == "<aws.scheduler.execution-id>"


def test_pruning_workflow_calls_the_prune_function_and_the_topic(dev):
    definition = json.loads(dev.by_name("nfw-blocklist-pruning").inputs["definition"])
    assert definition["States"]["PruneExpired"]["Resource"] == dev.by_name("nfw-blocklist-prune").state["arn"]
    topic = dev.by_name("nfw-blocklist-notifications").state["arn"]
    assert definition["States"]["NotifyPruned"]["Parameters"]["TopicArn"] == topic


def test_pruning_workflow_logs_to_its_own_group(dev):
    machine = dev.by_name("nfw-blocklist-pruning")
    logs = dev.by_name("nfw-blocklist-pruning-logs")
    assert machine.inputs["loggingConfiguration"]["logDestination"] == f"{logs.state['arn']}:*"
    assert logs.inputs["name"] == "/aws/vendedlogs/states/nfw-blocklist/dev/nfw-blocklist-pruning"


REQUIRED = {"prune_function_arn": "a", "topic_arn": "t", "topic_key_arn": "k"}


@pytest.mark.parametrize("minutes", [4, 181])
def test_frequency_outside_five_to_180_minutes_is_refused(construct, minutes):
    with pytest.raises(
        ValueError, match=re.escape("frequencyMinutes (frequency_minutes) must be an integer from 5 to 180")
    ):
        construct(PruningSchedule, {**REQUIRED, "frequency_minutes": minutes})


@pytest.mark.parametrize("days", [0, 45, 4000, True])
def test_a_log_retention_cloudwatch_logs_does_not_accept_is_refused(construct, days):
    with pytest.raises(
        ValueError, match=re.escape("PruningSchedule 'x': logRetentionDays (log_retention_days) must be")
    ):
        construct(PruningSchedule, {**REQUIRED, "log_retention_days": days})


def test_a_missing_required_input_is_named(construct):
    with pytest.raises(ValueError, match=re.escape("PruningSchedule 'x': topicArn (topic_arn) is required")):
        construct(PruningSchedule, {"prune_function_arn": "a", "topic_key_arn": "k"})
