"""A hand-built render of a tiny two-workflow stack, for testing the sandbox machinery in isolation.

It has the shape the real program renders (roles, table, topic, rule group, functions, state
machines, event rule and target, schedule) but runs toy handlers, so sandbox failures and
program failures can be told apart.
"""

import json
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class ToyResource:
    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    id: str = ""

    @property
    def urn(self) -> str:
        return f"urn:pulumi:toy::toy::{self.type}::{self.name}"


@dataclass(frozen=True)
class ToyRendered:
    stack: str
    config: dict[str, str]
    resources: list[ToyResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    project: str = "toy"


def _arn(service: str, suffix: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{suffix}"


def _task(function_arn: str, result_path: str, payload: str = "$") -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": payload},
        "ResultSelector": {"value.$": "$.Payload"},
        "ResultPath": result_path,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}],
    }


def toy_render(
    *,
    function_override: str | None = None,
    handler: str = "tests.e2e.toy_handlers.echo",
    prefix: str = "toy",
    environment: dict[str, str] | None = None,
    log_group: str | None = None,
    work_payload: str = "$",
    extra: tuple[ToyResource, ...] = (),
) -> ToyRendered:
    """The toy stack.

    ``function_override`` replaces the ARN the definition calls (a wiring mistake); ``prefix``
    starts every physical name (``toy``); ``environment`` adds function variables; ``log_group``
    replaces the log group the function logs to; ``work_payload`` is the path (or intrinsic) the Work
    state sends as the Lambda payload; ``extra`` resources are appended.
    """
    topic = _arn("sns", f"{prefix}-topic")
    fn = _arn("lambda", f"function:{prefix}-fn")
    rule_group = _arn("network-firewall", f"stateless-rulegroup/{prefix}-rg")
    role = f"arn:aws:iam::{ACCOUNT}:role/{prefix}-role"
    response = {
        "StartAt": "Work",
        "States": {
            "Work": {**_task(function_override or fn, "$.work", work_payload), "Next": "Notify"},
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic, "Message.$": "States.JsonToString($.work.value)"},
                "ResultPath": None,
                "End": True,
            },
            "NotifyFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic, "Message.$": "States.JsonToString($.error)"},
                "Next": "Failed",
            },
            "Failed": {"Type": "Fail"},
        },
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": [fn, f"{fn}:*"]},
            {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": topic},
            {"Effect": "Allow", "Action": "states:StartExecution", "Resource": "*"},
        ],
    }
    resources = [
        ToyResource(
            "aws:cloudwatch/logGroup:LogGroup",
            f"{prefix}-fn-logs",
            {"name": f"/aws/lambda/{prefix}-fn", "retentionInDays": 7},
        ),
        ToyResource(
            "aws:iam/role:Role",
            f"{prefix}-role",
            {"name": f"{prefix}-role", "assumeRolePolicy": "{}"},
            {"arn": role},
        ),
        ToyResource(
            "aws:iam/rolePolicy:RolePolicy",
            f"{prefix}-policy",
            {"role": f"{prefix}-role", "policy": json.dumps(policy)},
        ),
        ToyResource(
            "aws:dynamodb/table:Table",
            f"{prefix}-table",
            {
                "name": f"{prefix}-table",
                "billingMode": "PAY_PER_REQUEST",
                "hashKey": "HostIp",
                "attributes": [{"name": "HostIp", "type": "S"}],
                "ttl": {"attributeName": "PurgeAt", "enabled": True},
            },
        ),
        ToyResource("aws:sns/topic:Topic", f"{prefix}-topic", {"name": f"{prefix}-topic"}, {"arn": topic}),
        ToyResource(
            "aws:networkfirewall/ruleGroup:RuleGroup",
            f"{prefix}-rg",
            {
                "name": f"{prefix}-rg",
                "capacity": 100,
                "type": "STATELESS",
                "ruleGroup": {
                    "rulesSource": {
                        "statelessRulesAndCustomActions": {
                            "statelessRules": [
                                {
                                    "priority": 10,
                                    "ruleDefinition": {
                                        "actions": ["aws:drop"],
                                        "matchAttributes": {
                                            "sources": [{"addressDefinition": "192.0.2.1/32"}]
                                        },
                                    },
                                }
                            ]
                        }
                    }
                },
            },
            {"arn": rule_group},
        ),
        ToyResource(
            "aws:lambda/function:Function",
            f"{prefix}-fn",
            {
                "name": f"{prefix}-fn",
                "role": role,
                "handler": handler,
                "runtime": "python3.12",
                "environment": {
                    "variables": {
                        "NFW_TABLE_NAME": f"{prefix}-table",
                        "TOY_GREETING": "hello",
                        **(environment or {}),
                    }
                },
                "loggingConfig": {"logFormat": "JSON", "logGroup": log_group or f"/aws/lambda/{prefix}-fn"},
            },
            {"arn": fn},
        ),
        ToyResource(
            "aws:sfn/stateMachine:StateMachine",
            f"{prefix}-response",
            {"name": f"{prefix}-response", "roleArn": role, "definition": json.dumps(response)},
            {"arn": _arn("states", f"stateMachine:{prefix}-response")},
        ),
        ToyResource(
            "aws:sfn/stateMachine:StateMachine",
            f"{prefix}-pruning",
            {"name": f"{prefix}-pruning", "roleArn": role, "definition": json.dumps(response)},
            {"arn": _arn("states", f"stateMachine:{prefix}-pruning")},
        ),
        ToyResource(
            "aws:cloudwatch/eventRule:EventRule",
            f"{prefix}-rule",
            {
                "name": f"{prefix}-rule",
                "eventPattern": json.dumps({"source": ["toy"], "detail": {"items": {"kind": ["match"]}}}),
            },
        ),
        ToyResource(
            "aws:cloudwatch/eventTarget:EventTarget",
            f"{prefix}-target",
            {
                "rule": f"{prefix}-rule",
                "arn": _arn("states", f"stateMachine:{prefix}-response"),
                "roleArn": role,
            },
        ),
        ToyResource(
            "aws:scheduler/schedule:Schedule",
            f"{prefix}-schedule",
            {
                "name": f"{prefix}-schedule",
                "scheduleExpression": "rate(15 minutes)",
                "flexibleTimeWindow": {"mode": "OFF"},
                "target": {
                    "arn": _arn("states", f"stateMachine:{prefix}-pruning"),
                    "roleArn": role,
                    "input": '{"tick": true}',
                },
            },
        ),
        ToyResource("nfw:index:Toy", f"{prefix}-component", {}),
    ]
    return ToyRendered(stack=prefix, config={"aws:region": REGION}, resources=[*resources, *extra])
