"""Monitoring: the stack's CloudWatch alarms and dashboard, on the resources the other components made."""

import json
from collections.abc import Mapping
from typing import Final, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.alarms import alarm_specs
from components.config import read_bool, read_capacity_alarm_percent
from components.constants import TOKEN_PREFIX
from components.dashboard import DashboardTargets, dashboard_body, dashboard_name
from components.inputs import ArgsReader
from components.limits import check_component_name

TOKEN: Final = f"{TOKEN_PREFIX}:Monitoring"


class MonitoringArgs(TypedDict):
    """Inputs of Monitoring."""

    topic_arn: pulumi.Input[str]
    """The notification topic every alarm notifies (ResponseStateMachine's topicArn); required."""
    rule_group_name: pulumi.Input[str]
    """The rule group's name, the dimension of the functions' metrics; required."""
    response_state_machine_arn: pulumi.Input[str]
    """The response workflow (ResponseStateMachine's stateMachineArn); required."""
    pruning_state_machine_arn: pulumi.Input[str]
    """The pruning workflow (PruningSchedule's pruningStateMachineArn); required."""
    dead_letter_queue_arn: pulumi.Input[str]
    """The event rules' dead-letter queue (ResponseStateMachine's deadLetterQueueArn); required."""
    record_function_name: pulumi.Input[str]
    """The record function (ResponseStateMachine's recordFunctionName); required."""
    block_function_name: pulumi.Input[str]
    """The block function (ResponseStateMachine's blockFunctionName); required."""
    prune_function_name: pulumi.Input[str]
    """The prune function (ResponseStateMachine's pruneFunctionName); required."""
    steer_function_name: pulumi.Input[str]
    """The steer function (ResponseStateMachine's steerFunctionName); required."""
    annotate_function_name: NotRequired[pulumi.Input[str]]
    """The annotate function (ResponseStateMachine's annotateFunctionName), when it has one: its errors and
    throttles are watched too; default none."""
    alarms: NotRequired[bool]
    """Create the alarms; default true (the dashboard is always created). Plain: it decides what exists."""
    capacity_alarm_percent: NotRequired[int]
    """Alarm when the rule group's capacity used reaches this percentage (1-100); default 80. Plain: the
    alarm's description states it."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for the alarms (dashboards take none); default none."""


FUNCTION_NAME_FIELDS: Final = {
    "record": "record_function_name",
    "block": "block_function_name",
    "prune": "prune_function_name",
    "steer": "steer_function_name",
}
"""Function key (as the alarms and the dashboard name them) -> the required input that names the function."""
OPTIONAL_FUNCTION_NAME_FIELDS: Final = {"annotate": "annotate_function_name"}
"""The same for the functions only some stacks have."""


class Monitoring(pulumi.ComponentResource):
    """Alarms on failed executions, dead letters, capacity, function errors and throttles; a dashboard."""

    dashboard_name: pulumi.Output[str]
    """The CloudWatch dashboard's name (``<project>-<stack>[-<component>]``)."""
    dashboard_url: pulumi.Output[str]
    """The dashboard in the CloudWatch console."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        reader = ArgsReader("Monitoring", name, args)
        alarms = reader.check(["alarms"], lambda values: read_bool(values, "alarms", True))
        capacity_percent = reader.check(
            ["capacity_alarm_percent"],
            lambda values: read_capacity_alarm_percent(values, "capacityAlarmPercent"),
        )
        topic_arn = reader.required("topic_arn")
        rule_group_name = reader.required("rule_group_name")
        response_state_machine_arn = reader.required("response_state_machine_arn")
        pruning_state_machine_arn = reader.required("pruning_state_machine_arn")
        function_names = {key: reader.required(field) for key, field in FUNCTION_NAME_FIELDS.items()}
        function_names.update(
            {
                key: reader.get(field)
                for key, field in OPTIONAL_FUNCTION_NAME_FIELDS.items()
                if reader.get(field) is not None
            }
        )
        tags = reader.get("tags")
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output().region
        queue_name = pulumi.Output.from_input(reader.required("dead_letter_queue_arn")).apply(
            lambda arn: arn.rsplit(":", 1)[-1]
        )
        targets = DashboardTargets(
            region=region,
            rule_group_name=rule_group_name,
            response_state_machine_arn=response_state_machine_arn,
            pruning_state_machine_arn=pruning_state_machine_arn,
            dead_letter_queue_name=queue_name,
            function_names=function_names,
        )
        if alarms:
            for spec in alarm_specs(targets, capacity_percent):
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{spec.key}",
                    alarm_description=spec.description,
                    namespace=spec.namespace,
                    metric_name=spec.metric_name,
                    dimensions=dict(spec.dimensions),
                    statistic=spec.statistic,
                    period=spec.period,
                    evaluation_periods=spec.evaluation_periods,
                    threshold=spec.threshold,
                    comparison_operator=spec.comparison,
                    treat_missing_data=spec.treat_missing_data,
                    alarm_actions=[topic_arn],
                    tags=tags,
                    opts=child,
                )

        keys = sorted(function_names)
        body = pulumi.Output.all(
            region,
            rule_group_name,
            response_state_machine_arn,
            pruning_state_machine_arn,
            queue_name,
            *[function_names[key] for key in keys],
        ).apply(
            lambda values: json.dumps(
                dashboard_body(
                    DashboardTargets(
                        region=values[0],
                        rule_group_name=values[1],
                        response_state_machine_arn=values[2],
                        pruning_state_machine_arn=values[3],
                        dead_letter_queue_name=values[4],
                        function_names=dict(zip(keys, values[5:], strict=True)),
                    )
                )
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=dashboard_name(pulumi.get_project(), pulumi.get_stack(), name),
            dashboard_body=body,
            opts=child,
        )
        self.dashboard_name = dashboard.dashboard_name
        self.dashboard_url = pulumi.Output.concat(
            "https://console.aws.amazon.com/cloudwatch/home?region=",
            region,
            "#dashboards/dashboard/",
            dashboard.dashboard_name,
        )
        self.register_outputs({"dashboard_name": self.dashboard_name, "dashboard_url": self.dashboard_url})
