"""What CloudWatch checks (or silently gets wrong) for the program's alarms and dashboard, in the sandbox.

An alarm whose action is a topic it cannot publish to deploys fine in AWS and never notifies: the
sandbox refuses it at deploy instead. CloudWatch publishes to a KMS-encrypted topic only if the key's
policy lets ``cloudwatch.amazonaws.com`` use ``kms:Decrypt`` and ``kms:GenerateDataKey*`` (SNS developer
guide, "Enable compatibility between event sources from AWS services and encrypted topics"); a key
without a policy of its own has the default one, which trusts only the account's IAM principals.

A metric an alarm or a widget names must exist: one the functions emit (``handlers.metrics.UNITS``,
dimension ``RuleGroup`` = a rule group the program creates), or one AWS publishes for a resource the
program creates (with that resource's name or ARN as the dimension value). An alarm on a metric that
never exists stays in INSUFFICIENT_DATA (or OK, with missing data not breaching) forever.
"""

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.dashboard import FIREWALL_SEARCHES, MetricReference
from components.iam import ALARM_KEY_ACTIONS, CLOUDWATCH_PRINCIPAL
from handlers import metrics

STATES_METRICS = {"ExecutionsFailed", "ExecutionsSucceeded", "ExecutionsStarted", "ExecutionsTimedOut"}
SQS_METRICS = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
LAMBDA_METRICS = {"Errors", "Throttles", "Invocations", "Duration"}
"""The AWS metrics (published per resource, with one dimension) the program may read."""


@dataclass(frozen=True)
class KnownResources:
    """The names and ARNs AWS metrics of the program's resources carry as dimension values."""

    state_machine_arns: frozenset[str]
    queue_names: frozenset[str]
    function_names: frozenset[str]
    rule_group_names: frozenset[str]

    def metric_problem(self, metric: MetricReference) -> str | None:
        """Why ``metric`` never has data for this program, or None."""
        dimensions = dict(metric.dimensions)
        expected: dict[str, tuple[set[str], str, frozenset[str]]] = {
            "AWS/States": (STATES_METRICS, "StateMachineArn", self.state_machine_arns),
            "AWS/SQS": (SQS_METRICS, "QueueName", self.queue_names),
            "AWS/Lambda": (LAMBDA_METRICS, "FunctionName", self.function_names),
            metrics.NAMESPACE: (set(metrics.UNITS), metrics.DIMENSION, self.rule_group_names),
        }
        if metric.namespace not in expected:
            return (
                f"namespace {metric.namespace!r} is neither the functions' nor a resource's of this program"
            )
        names, dimension, values = expected[metric.namespace]
        if metric.name not in names:
            return f"{metric.namespace} has no metric {metric.name!r} for this program"
        if set(dimensions) != {dimension}:
            return f"{metric.namespace} {metric.name} is published with the dimension {dimension} alone"
        if dimensions[dimension] not in values:
            return (
                f"{metric.namespace} {metric.name}: {dimension}={dimensions[dimension]!r} is not a resource "
                "this program creates"
            )
        return None

    def expression_problem(self, expression: str) -> str | None:
        """The searches the dashboard makes: the firewall's packets under each of our custom actions."""
        return None if expression in FIREWALL_SEARCHES else f"unexpected metric expression {expression!r}"


def key_lets_cloudwatch_publish(policy: object, account: str, region: str, alarm_arn: str) -> bool:
    """Whether a KMS key policy (JSON text, or None for the default policy) lets CloudWatch use the key
    for an alarm ``alarm_arn`` of ``account`` (the actions of ``ALARM_KEY_ACTIONS``, every condition met)."""
    if not isinstance(policy, str) or not policy:
        return False  # the default key policy trusts the account's IAM principals only
    document = json.loads(policy)
    statements = document.get("Statement", [])
    granted: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow" or not _names_cloudwatch(statement.get("Principal")):
            continue
        if not _conditions_hold(statement.get("Condition", {}), account, alarm_arn):
            continue
        actions = statement.get("Action", [])
        for wanted in ALARM_KEY_ACTIONS:
            concrete = wanted.rstrip("*")
            if any(
                fnmatch.fnmatchcase(concrete, pattern) or pattern == wanted for pattern in _listed(actions)
            ):
                granted.add(wanted)
    return granted == set(ALARM_KEY_ACTIONS)


def _listed(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _names_cloudwatch(principal: object) -> bool:
    if not isinstance(principal, Mapping):
        return False
    return CLOUDWATCH_PRINCIPAL in _listed(principal.get("Service", []))


def _conditions_hold(conditions: Mapping[str, Any], account: str, alarm_arn: str) -> bool:
    context = {"aws:SourceAccount": account, "aws:SourceArn": alarm_arn}
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            patterns = _listed(expected)
            if operator in {"StringEquals", "ArnEquals"} and actual not in patterns:
                return False
            if operator in {"ArnLike", "StringLike"} and not any(
                fnmatch.fnmatchcase(actual, p) for p in patterns
            ):
                return False
            if operator not in {"StringEquals", "ArnEquals", "ArnLike", "StringLike"}:
                return False
    return True
