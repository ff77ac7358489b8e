"""PruningSchedule: the pruning workflow and the EventBridge Scheduler schedule that starts it."""

import json
from collections.abc import Mapping
from typing import Any, Final, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.config import read_bool, read_log_retention, read_pruning_frequency
from components.constants import TOKEN_PREFIX
from components.definitions import pruning_definition
from components.inputs import ArgsReader
from components.limits import check_component_name, workflow_log_group_name
from components.workflow import standard_workflow

TOKEN: Final = f"{TOKEN_PREFIX}:PruningSchedule"
SCHEDULE_SOURCE: Final = "nfw-blocklist.schedule"


def schedule_input() -> dict[str, Any]:
    """The execution input: EventBridge Scheduler fills in its context attributes on every run."""
    return {
        "id": "<aws.scheduler.execution-id>",
        "source": SCHEDULE_SOURCE,
        "time": "<aws.scheduler.scheduled-time>",
        "schedule": "<aws.scheduler.schedule-arn>",
    }


class PruningScheduleArgs(TypedDict):
    """Inputs of PruningSchedule."""

    prune_function_arn: pulumi.Input[str]
    """ARN of the prune function (ResponseStateMachine's pruneFunctionArn); required."""
    topic_arn: pulumi.Input[str]
    """Notification topic (ResponseStateMachine's topicArn); required."""
    topic_key_arn: pulumi.Input[str]
    """KMS key of the topic (ResponseStateMachine's topicKeyArn); required."""
    frequency_minutes: NotRequired[pulumi.Input[int]]
    """Minutes between runs; default 15, 5..180."""
    log_retention_days: NotRequired[pulumi.Input[int]]
    """Retention of the workflow's logs; default 30 days (a CloudWatch Logs value)."""
    tracing: NotRequired[bool]
    """X-Ray tracing of the state machine (its role may then send traces); default false. Plain: it
    decides the role's policy."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for every child resource; default none."""


def rate_expression(minutes: int) -> str:
    """Scheduler's rate syntax wants the singular unit for 1, never reached here (minimum 5)."""
    return f"rate({minutes} minutes)"


class PruningSchedule(pulumi.ComponentResource):
    """Every N minutes: unblock expired hosts, reconcile rule group and ledger, notify on change/failure."""

    pruning_state_machine_arn: pulumi.Output[str]
    """The pruning workflow."""
    schedule_name: pulumi.Output[str]
    """The EventBridge Scheduler schedule that starts it."""

    def __init__(
        self, name: str, args: PruningScheduleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        reader = ArgsReader("PruningSchedule", name, args)
        frequency = reader.settle(
            ["frequency_minutes"], lambda values: read_pruning_frequency(values, "frequencyMinutes")
        )
        log_retention_days = reader.settle(
            ["log_retention_days"], lambda values: read_log_retention(values, "logRetentionDays")
        )
        tracing = reader.check(["tracing"], lambda values: read_bool(values, "tracing", False))
        tags = reader.get("tags")
        child = pulumi.ResourceOptions(parent=self)
        log_group_name = workflow_log_group_name(pulumi.get_project(), pulumi.get_stack(), f"{name}-pruning")

        prune_function_arn = reader.required("prune_function_arn")
        topic_arn = reader.required("topic_arn")
        topic_key_arn = reader.required("topic_key_arn")
        definition = pulumi.Output.all(prune_function_arn, topic_arn).apply(
            lambda arns: json.dumps(pruning_definition(arns[0], arns[1], stack=pulumi.get_stack()), indent=2)
        )
        state_machine = standard_workflow(
            f"{name}-pruning",
            log_group_name,
            self,
            definition,
            [prune_function_arn],
            topic_arn,
            topic_key_arn,
            log_retention_days,
            tracing,
            tags,
        )

        scheduler_role = aws.iam.Role(
            f"{name}-schedule-role",
            assume_role_policy=json.dumps(iam.assume_role_policy(iam.SCHEDULER_PRINCIPAL)),
            tags=tags,
            opts=child,
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-schedule-policy",
            role=scheduler_role.id,
            policy=pulumi.Output.json_dumps(iam.start_execution_policy(state_machine.arn)),
            opts=child,
        )
        schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            description="nfw-blocklist: prune expired hosts and repair rule-group drift",
            schedule_expression=pulumi.Output.from_input(frequency).apply(rate_expression),
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": state_machine.arn,
                "role_arn": scheduler_role.arn,
                "input": json.dumps(schedule_input()),
                # A missed run is caught up by the next one: retry briefly rather than pile up.
                "retry_policy": {"maximum_event_age_in_seconds": 600, "maximum_retry_attempts": 3},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy]),
        )

        self.pruning_state_machine_arn = state_machine.arn
        self.schedule_name = schedule.name
        self.register_outputs(
            {"pruning_state_machine_arn": self.pruning_state_machine_arn, "schedule_name": self.schedule_name}
        )
