"""PruningSchedule: the pruning workflow and the EventBridge Scheduler schedule that starts it."""

import json
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components import iam
from components.constants import DEFAULT_LOG_RETENTION_DAYS, TOKEN_PREFIX, log_retention_problem
from components.definitions import pruning_definition
from components.limits import check_component_name, workflow_log_group_name
from components.workflow import standard_workflow

TOKEN: Final = f"{TOKEN_PREFIX}:PruningSchedule"
MIN_FREQUENCY_MINUTES: Final = 5
MAX_FREQUENCY_MINUTES: Final = 180
SCHEDULE_SOURCE: Final = "nfw-blocklist.schedule"


def schedule_input() -> dict[str, Any]:
    """The execution input: EventBridge Scheduler fills in its context attributes on every run."""
    return {
        "id": "<aws.scheduler.execution-id>",
        "source": SCHEDULE_SOURCE,
        "time": "<aws.scheduler.scheduled-time>",
        "schedule": "<aws.scheduler.schedule-arn>",
    }


@dataclass
class PruningScheduleArgs:
    """Inputs of PruningSchedule."""

    prune_function_arn: pulumi.Input[str]
    """ARN of the prune function (ResponseStateMachine.prune_function_arn); required."""
    topic_arn: pulumi.Input[str]
    """Notification topic (ResponseStateMachine.topic_arn); required."""
    topic_key_arn: pulumi.Input[str]
    """KMS key of the topic (ResponseStateMachine.topic_key_arn); required."""
    frequency_minutes: int = 15
    """Minutes between runs; default 15, 5..180."""
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    """Retention of the workflow's logs; default 30 days (a CloudWatch Logs value)."""
    tracing: bool = False
    """X-Ray tracing of the state machine (its role may then send traces); default False."""
    tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None
    """Tags for every child resource; default none."""

    def validate(self) -> None:
        if isinstance(self.frequency_minutes, bool) or not (
            MIN_FREQUENCY_MINUTES <= self.frequency_minutes <= MAX_FREQUENCY_MINUTES
        ):
            raise ValueError(
                f"frequency_minutes must be from {MIN_FREQUENCY_MINUTES} to {MAX_FREQUENCY_MINUTES}, "
                f"got {self.frequency_minutes!r}"
            )
        problem = log_retention_problem(self.log_retention_days)
        if problem is not None:
            raise ValueError(f"log_retention_days must be {problem}; got {self.log_retention_days!r}")


def rate_expression(minutes: int) -> str:
    """Scheduler's rate syntax wants the singular unit for 1, never reached here (minimum 5)."""
    return f"rate({minutes} minutes)"


class PruningSchedule(pulumi.ComponentResource):
    """Every N minutes: unblock expired hosts, reconcile rule group and ledger, notify on change/failure."""

    pruning_state_machine_arn: pulumi.Output[str]
    schedule_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: PruningScheduleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        args.validate()
        child = pulumi.ResourceOptions(parent=self)
        log_group_name = workflow_log_group_name(pulumi.get_project(), pulumi.get_stack(), f"{name}-pruning")

        definition = pulumi.Output.all(args.prune_function_arn, args.topic_arn).apply(
            lambda arns: json.dumps(pruning_definition(arns[0], arns[1]), indent=2)
        )
        state_machine = standard_workflow(
            f"{name}-pruning",
            log_group_name,
            self,
            definition,
            [args.prune_function_arn],
            args.topic_arn,
            args.topic_key_arn,
            args.log_retention_days,
            args.tracing,
            args.tags,
        )

        scheduler_role = aws.iam.Role(
            f"{name}-schedule-role",
            assume_role_policy=json.dumps(iam.assume_role_policy(iam.SCHEDULER_PRINCIPAL)),
            tags=args.tags,
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
            schedule_expression=rate_expression(args.frequency_minutes),
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
