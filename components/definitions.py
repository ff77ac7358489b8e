"""Amazon States Language definitions of the two workflows, as plain dicts.

Pure functions of the resources' ARNs, so they can be linted and inspected without Pulumi. The
Lambda tasks use the function ARN as the Resource (the "direct" form) rather than
``arn:aws:states:::lambda:invoke``: only that form puts the function's own result at ``$.record`` /
``$.block`` / ``$.prune``, which is where docs/DESIGN.md routes (``$.record.has_hosts``). The optimized
integration wraps it in ``{"Payload": ...}`` and JSONPath's ResultSelector cannot unwrap it. Retries and
error names behave the same in both forms.
"""

from typing import Any, Final

from handlers import errors

LAMBDA_SERVICE_ERRORS: Final = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
RETRYABLE_HANDLER_ERRORS: Final = (errors.RuleGroupContention.__name__, errors.FirewallUnavailable.__name__)
SNS_PUBLISH: Final = "arn:aws:states:::sns:publish"

SUCCESS_SUBJECT: Final = "nfw-blocklist: hosts blocked"
PRUNED_SUBJECT: Final = "nfw-blocklist: hosts unblocked"
FAILURE_SUBJECT: Final = "nfw-blocklist: blocking failed"
PRUNE_FAILURE_SUBJECT: Final = "nfw-blocklist: pruning failed"
FAILURE_ERROR: Final = "BlocklistWorkflowFailed"


def lambda_retry() -> list[dict[str, Any]]:
    """AWS's recommended retry for Lambda service errors, then the handlers' own retryable errors."""
    return [
        {
            "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
            "IntervalSeconds": 2,
            "MaxAttempts": 6,
            "BackoffRate": 2.0,
        },
        {
            "ErrorEquals": list(RETRYABLE_HANDLER_ERRORS),
            "IntervalSeconds": 1,
            "MaxAttempts": 5,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
        },
    ]


def sns_retry() -> list[dict[str, Any]]:
    """SNS publish is idempotent enough for a notification: retry anything a few times."""
    return [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}]


def _catch() -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DescribeFailure"}]


def _lambda_task(function_arn: str, input_path: str, result_path: str, next_state: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": function_arn,
        "InputPath": input_path,
        "ResultPath": result_path,
        "TimeoutSeconds": 900,
        "Retry": lambda_retry(),
        "Catch": _catch(),
        "Next": next_state,
    }


def _publish(topic_arn: str, message_path: str, subject: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": SNS_PUBLISH,
        "Parameters": {
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message.$": f"States.JsonToString({message_path})",
        },
        "ResultPath": None,
        "Retry": sns_retry(),
    }


def _failure_states(topic_arn: str, event_id_path: str, subject: str) -> dict[str, dict[str, Any]]:
    """Describe the caught error, tell the admin, then fail the execution so it shows as failed."""
    return {
        "DescribeFailure": {
            "Type": "Pass",
            "Parameters": {
                "Blocked": "false",
                "Error.$": "$.error.Error",
                "Cause.$": "$.error.Cause",
                "EventId.$": event_id_path,
                "ExecutionId.$": "$$.Execution.Id",
            },
            "ResultPath": "$.failure",
            "Next": "NotifyFailure",
        },
        "NotifyFailure": {**_publish(topic_arn, "$.failure", subject), "Next": "Failed"},
        "Failed": {
            "Type": "Fail",
            "Error": FAILURE_ERROR,
            "Cause": "A step failed; the failure notification carries its error and cause.",
        },
    }


def _choice(variable: str, then: str, otherwise: str) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [{"Variable": variable, "BooleanEquals": True, "Next": then}],
        "Default": otherwise,
    }


def response_definition(record_arn: str, block_arn: str, topic_arn: str) -> dict[str, Any]:
    """Record the finding's hosts, block them, notify; any failure is published and fails the run.

    The input is the EventBridge event, whose ``id`` names it in the failure notification.
    """
    return {
        "Comment": "nfw-blocklist: block the remote hosts of a GuardDuty finding in the rule group",
        "StartAt": "RecordHosts",
        "States": {
            "RecordHosts": _lambda_task(record_arn, "$", "$.record", "AnythingToBlock"),
            "AnythingToBlock": _choice("$.record.has_hosts", "BlockHosts", "NothingToBlock"),
            "NothingToBlock": {"Type": "Succeed"},
            "BlockHosts": _lambda_task(block_arn, "$.record", "$.block", "AnyNewlyBlocked"),
            "AnyNewlyBlocked": _choice("$.block.notify", "NotifySuccess", "NothingNew"),
            "NothingNew": {"Type": "Succeed"},
            "NotifySuccess": {
                **_publish(topic_arn, "$.block.notification", SUCCESS_SUBJECT),
                "Catch": _catch(),
                "End": True,
            },
            **_failure_states(topic_arn, "$.id", FAILURE_SUBJECT),
        },
    }


def pruning_definition(prune_arn: str, topic_arn: str) -> dict[str, Any]:
    """Unblock expired hosts and reconcile the rule group with the ledger; notify when anything changed.

    The failure's EventId is the execution's id: the schedule's input carries an ``id`` too, but an
    operator starting a prune by hand with ``{}`` must still get a failure notification.
    """
    return {
        "Comment": "nfw-blocklist: unblock expired hosts, repair drift between ledger and rule group",
        "StartAt": "PruneExpired",
        "States": {
            "PruneExpired": _lambda_task(prune_arn, "$", "$.prune", "AnythingPruned"),
            "AnythingPruned": _choice("$.prune.notify", "NotifyPruned", "NothingPruned"),
            "NothingPruned": {"Type": "Succeed"},
            "NotifyPruned": {
                **_publish(topic_arn, "$.prune.notification", PRUNED_SUBJECT),
                "Catch": _catch(),
                "End": True,
            },
            **_failure_states(topic_arn, "$$.Execution.Id", PRUNE_FAILURE_SUBJECT),
        },
    }
