"""The stack's CloudWatch alarms, as pure specs: what each watches, when it fires, what to do then.

Every alarm notifies the notification topic (``alarm_actions``). Missing data: the failure and error
counts are published only when something happens, so no data means nothing failed (``notBreaching``);
capacity is published only when a function reads the group (every block that writes, every prune), so
no data means "unchanged" and the alarm keeps its state (``ignore``).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from components.dashboard import DashboardTargets, MetricReference, Ref
from handlers import metrics

PERIOD_SECONDS: Final = 300
DEFAULT_CAPACITY_ALARM_PERCENT: Final = 80


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: its logical name suffix, metric, statistic, threshold and the runbook line."""

    key: str
    namespace: str
    metric_name: str
    dimensions: Mapping[str, Ref]
    statistic: str
    threshold: float
    description: str
    treat_missing_data: str = "notBreaching"
    comparison: str = "GreaterThanOrEqualToThreshold"
    evaluation_periods: int = 1
    period: int = PERIOD_SECONDS
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> MetricReference:
        return MetricReference(self.namespace, self.metric_name, tuple(sorted(self.dimensions.items())))


def alarm_specs(targets: DashboardTargets, capacity_percent: int) -> list[AlarmSpec]:
    """The alarms of one stack (docs: README "Alarms", which says what to do when each fires)."""
    specs = [
        AlarmSpec(
            f"{workflow}-failed",
            "AWS/States",
            "ExecutionsFailed",
            {"StateMachineArn": arn},
            "Sum",
            1,
            f"nfw-blocklist: the {workflow} workflow failed. Its failure notification names the error; "
            "the execution history shows the step.",
        )
        for workflow, arn in (
            ("response", targets.response_state_machine_arn),
            ("pruning", targets.pruning_state_machine_arn),
        )
    ]
    specs.append(
        AlarmSpec(
            "dead-letters",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": targets.dead_letter_queue_name},
            "Maximum",
            1,
            "nfw-blocklist: a finding event could not start the response workflow for 24 hours and waits "
            "in the dead-letter queue. Read it, fix the cause, then put the event on the bus again.",
        )
    )
    specs.append(
        AlarmSpec(
            "capacity",
            metrics.NAMESPACE,
            metrics.CAPACITY_USED_PERCENT,
            {metrics.DIMENSION: targets.rule_group_name},
            "Maximum",
            capacity_percent,
            f"nfw-blocklist: the rule group is {capacity_percent}% full or more; new blocks will evict "
            "the least recently seen hosts (or be refused). Shorten retentionMinutes, or raise "
            "ruleGroupCapacity.",
            treat_missing_data="ignore",
        )
    )
    specs.append(
        AlarmSpec(
            "brake",
            metrics.NAMESPACE,
            metrics.BRAKE_REFUSED,
            {metrics.DIMENSION: targets.rule_group_name},
            "Sum",
            1,
            "nfw-blocklist: the brake is on: more new blocks than brakeMaxNewBlocks this period, and new "
            "blocks are refused. Check the findings, then run nfw-blocklist brake status and brake release.",
        )
    )
    for key, name in sorted(targets.function_names.items()):
        for metric_name, what in (("Errors", "errors"), ("Throttles", "throttles")):
            specs.append(
                AlarmSpec(
                    f"{key}-{metric_name.lower()}",
                    "AWS/Lambda",
                    metric_name,
                    {"FunctionName": name},
                    "Sum",
                    1,
                    f"nfw-blocklist: the {key} function reported {what}. The workflows retry; "
                    "check its log group if this repeats.",
                )
            )
    return specs
