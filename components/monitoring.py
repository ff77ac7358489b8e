"""Monitoring: the stack's CloudWatch alarms and dashboard, on the resources the other components made."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

from components.alarms import DEFAULT_CAPACITY_ALARM_PERCENT, alarm_specs
from components.constants import TOKEN_PREFIX
from components.dashboard import DashboardTargets, dashboard_body, dashboard_name
from components.limits import check_component_name

TOKEN: Final = f"{TOKEN_PREFIX}:Monitoring"


@dataclass
class MonitoringArgs:
    """Inputs of Monitoring."""

    topic_arn: pulumi.Input[str]
    """The notification topic every alarm notifies (ResponseStateMachine.topic_arn); required."""
    rule_group_name: pulumi.Input[str]
    """The rule group's name, the dimension of the functions' metrics; required."""
    response_state_machine_arn: pulumi.Input[str]
    """The response workflow; required."""
    pruning_state_machine_arn: pulumi.Input[str]
    """The pruning workflow; required."""
    dead_letter_queue_arn: pulumi.Input[str]
    """The event rules' dead-letter queue; required."""
    function_names: Mapping[str, pulumi.Input[str]]
    """Function key (record, block, prune) -> name; required."""
    alarms: bool = True
    """Create the alarms; default True (the dashboard is always created)."""
    capacity_alarm_percent: int = DEFAULT_CAPACITY_ALARM_PERCENT
    """Alarm when the rule group's capacity used reaches this percentage (1-100); default 80."""
    tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None
    """Tags for the alarms (dashboards take none); default none."""

    def validate(self) -> None:
        percent = self.capacity_alarm_percent
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
            raise ValueError(f"capacity_alarm_percent must be an integer from 1 to 100, got {percent!r}")


class Monitoring(pulumi.ComponentResource):
    """Alarms on failed executions, dead letters, capacity, function errors and throttles; a dashboard."""

    dashboard_name: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        args.validate()
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output().region
        queue_name = pulumi.Output.from_input(args.dead_letter_queue_arn).apply(
            lambda arn: arn.rsplit(":", 1)[-1]
        )
        targets = DashboardTargets(
            region=region,
            rule_group_name=args.rule_group_name,
            response_state_machine_arn=args.response_state_machine_arn,
            pruning_state_machine_arn=args.pruning_state_machine_arn,
            dead_letter_queue_name=queue_name,
            function_names=dict(args.function_names),
        )
        if args.alarms:
            for spec in alarm_specs(targets, args.capacity_alarm_percent):
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
                    alarm_actions=[args.topic_arn],
                    tags=args.tags,
                    opts=child,
                )

        keys = sorted(args.function_names)
        body = pulumi.Output.all(
            region,
            args.rule_group_name,
            args.response_state_machine_arn,
            args.pruning_state_machine_arn,
            queue_name,
            *[args.function_names[key] for key in keys],
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
