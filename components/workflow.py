"""The Standard state machine both workflows are built on: its log group, role, policy and logging."""

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam


def standard_workflow(
    name: str,
    log_group_name: str,
    parent: pulumi.Resource,
    definition: pulumi.Input[str],
    invoked_function_arns: Sequence[pulumi.Input[str]],
    topic_arn: pulumi.Input[str],
    topic_key_arn: pulumi.Input[str],
    log_retention_days: pulumi.Input[int],
    tracing: bool,
    tags: Any,
) -> aws.sfn.StateMachine:
    """A Standard state machine ``name`` (auto-named), with ``{name}-logs``, ``{name}-role`` and
    ``{name}-policy``.

    The role may invoke exactly ``invoked_function_arns``, publish to the topic and, with ``tracing``, send
    X-Ray traces; execution logs (errors only, without execution data, which would copy findings into the
    logs) go to a log group of its own, ``log_group_name`` (see ``limits.workflow_log_group_name``).
    """
    child = pulumi.ResourceOptions(parent=parent)
    logs = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=log_group_name,
        retention_in_days=log_retention_days,
        tags=tags,
        opts=child,
    )
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=json.dumps(iam.assume_role_policy(iam.STATES_PRINCIPAL)),
        tags=tags,
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps(
            iam.state_machine_policy(list(invoked_function_arns), topic_arn, topic_key_arn, tracing=tracing)
        ),
        opts=child,
    )
    return aws.sfn.StateMachine(
        name,
        type="STANDARD",
        role_arn=role.arn,
        definition=definition,
        logging_configuration={
            "level": "ERROR",
            "include_execution_data": False,
            "log_destination": pulumi.Output.concat(logs.arn, ":*"),
        },
        tracing_configuration={"enabled": tracing},
        tags=tags,
        # Step Functions checks the log-delivery permissions when the machine is created.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
