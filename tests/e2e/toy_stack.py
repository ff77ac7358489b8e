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
    *, function_override: str | None = None, handler: str = "tests.e2e.toy_handlers.echo"
) -> ToyRendered:
    """The toy stack; ``function_override`` replaces the ARN the definition calls (a wiring mistake)."""
    topic = _arn("sns", "toy-topic")
    fn = _arn("lambda", "function:toy-fn")
    rule_group = _arn("network-firewall", "stateless-rulegroup/toy-rg")
    role = f"arn:aws:iam::{ACCOUNT}:role/toy-role"
    response = {
        "StartAt": "Work",
        "States": {
            "Work": {**_task(function_override or fn, "$.work"), "Next": "Notify"},
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
            "aws:iam/role:Role", "toy-role", {"name": "toy-role", "assumeRolePolicy": "{}"}, {"arn": role}
        ),
        ToyResource(
            "aws:iam/rolePolicy:RolePolicy", "toy-policy", {"role": "toy-role", "policy": json.dumps(policy)}
        ),
        ToyResource(
            "aws:dynamodb/table:Table",
            "toy-table",
            {
                "name": "toy-table",
                "billingMode": "PAY_PER_REQUEST",
                "hashKey": "HostIp",
                "attributes": [{"name": "HostIp", "type": "S"}],
                "ttl": {"attributeName": "PurgeAt", "enabled": True},
            },
        ),
        ToyResource("aws:sns/topic:Topic", "toy-topic", {"name": "toy-topic"}, {"arn": topic}),
        ToyResource(
            "aws:networkfirewall/ruleGroup:RuleGroup",
            "toy-rg",
            {
                "name": "toy-rg",
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
            "toy-fn",
            {
                "name": "toy-fn",
                "role": role,
                "handler": handler,
                "runtime": "python3.12",
                "environment": {"variables": {"NFW_TABLE_NAME": "toy-table", "TOY_GREETING": "hello"}},
            },
            {"arn": fn},
        ),
        ToyResource(
            "aws:sfn/stateMachine:StateMachine",
            "toy-response",
            {"name": "toy-response", "roleArn": role, "definition": json.dumps(response)},
            {"arn": _arn("states", "stateMachine:toy-response")},
        ),
        ToyResource(
            "aws:sfn/stateMachine:StateMachine",
            "toy-pruning",
            {"name": "toy-pruning", "roleArn": role, "definition": json.dumps(response)},
            {"arn": _arn("states", "stateMachine:toy-pruning")},
        ),
        ToyResource(
            "aws:cloudwatch/eventRule:EventRule",
            "toy-rule",
            {
                "name": "toy-rule",
                "eventPattern": json.dumps({"source": ["toy"], "detail": {"items": {"kind": ["match"]}}}),
            },
        ),
        ToyResource(
            "aws:cloudwatch/eventTarget:EventTarget",
            "toy-target",
            {"rule": "toy-rule", "arn": _arn("states", "stateMachine:toy-response"), "roleArn": role},
        ),
        ToyResource(
            "aws:scheduler/schedule:Schedule",
            "toy-schedule",
            {
                "name": "toy-schedule",
                "scheduleExpression": "rate(15 minutes)",
                "flexibleTimeWindow": {"mode": "OFF"},
                "target": {
                    "arn": _arn("states", "stateMachine:toy-pruning"),
                    "roleArn": role,
                    "input": '{"tick": true}',
                },
            },
        ),
        ToyResource("nfw:index:Toy", "toy-component", {}),
    ]
    return ToyRendered(stack="toy", config={"aws:region": REGION}, resources=resources)
