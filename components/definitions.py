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
RETRYABLE_HANDLER_ERRORS: Final = (
    errors.RuleGroupContention.__name__,
    errors.FirewallUnavailable.__name__,
    errors.LedgerUnavailable.__name__,
)
SNS_PUBLISH: Final = "arn:aws:states:::sns:publish"

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


def _catch(next_state: str = "DescribeFailure") -> list[dict[str, Any]]:
    # The caught error replaces the state (ResultPath "$"): added beside an input of up to 256 KiB (the
    # EventBridge event) it could itself exceed Step Functions' limit, and States.DataLimitExceeded is
    # terminal, so no failure notification would go out.
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": next_state}]


def _lambda_task(
    function_arn: str,
    input_path: str,
    result_key: str,
    next_state: str,
    catch_next: str,
    replace: bool = False,
) -> dict[str, Any]:
    """A Lambda task whose result lands at ``$.<result_key>``; with ``replace`` it becomes the whole state
    (``{"<result_key>": result}``), dropping the input (RecordHosts drops the event it has read)."""
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": function_arn,
        "InputPath": input_path,
        "TimeoutSeconds": 900,
        "Retry": lambda_retry(),
        "Catch": _catch(catch_next),
        "Next": next_state,
    }
    if replace:
        task["ResultSelector"] = {f"{result_key}.$": "$"}
        task["ResultPath"] = "$"
    else:
        task["ResultPath"] = f"$.{result_key}"
    return task


def _publish(topic_arn: str, message_path: str, subject: str) -> dict[str, Any]:
    """Publish ``message_path`` (``{"default": <JSON text>, "email": <plain text>}``) per protocol.

    ``subject`` is a literal, or a ``$`` path to the step's own bounded subject.
    """
    return {
        "Type": "Task",
        "Resource": SNS_PUBLISH,
        "Parameters": {
            "TopicArn": topic_arn,
            **({"Subject.$": subject} if subject.startswith("$") else {"Subject": subject}),
            "MessageStructure": "json",
            "Message.$": f"States.JsonToString({message_path})",
        },
        "ResultPath": None,
        "Retry": sns_retry(),
    }


FAILURE_EMAIL_LINES: Final = (
    ("The nfw-blocklist {workflow} workflow failed: {{}}", ("$.failure.Error",)),
    ("", ()),
    ("Cause: {{}}", ("$.failure.Cause",)),
    ("", ()),
    ("Execution: {{}}", ("$.failure.ExecutionId",)),
    ("Event: {{}}", ("$.failure.EventId",)),
    ("", ()),
    ("The execution history in the Step Functions console shows the failing step.", ()),
)
"""The failure e-mail, line by line, with the paths each line's ``{}`` take. It holds no quote, brace or
backslash of its own (those need escaping in an intrinsic's string literal)."""
NEWLINE_PATH: Final = "$.newline"


def failure_email(workflow: str) -> str:
    """``States.Format`` of the failure e-mail. Line breaks are arguments (``$.newline``, a literal
    newline the describing state sets): a raw one inside the intrinsic is not valid ASL to statelint."""
    template_parts: list[str] = []
    arguments: list[str] = []
    for index, (line, paths) in enumerate(FAILURE_EMAIL_LINES):
        if index:
            template_parts.append("{}")
            arguments.append(NEWLINE_PATH)
        template_parts.append(line.format(workflow=workflow))
        arguments.extend(paths)
    return f"States.Format('{''.join(template_parts)}', {', '.join(arguments)})"


def _format_failure(workflow: str) -> dict[str, Any]:
    """The failure notification per protocol: ``default`` its JSON, ``email`` a plain-text account.

    A Pass state, not a Lambda: the caught error may be the functions' own (throttled, misconfigured),
    and the failure notice must still go out. ``States.Format`` cannot cut the Cause, but Step Functions
    already bounds it (32,768 characters), so the message stays far below SNS's 256 KB.
    """
    return {
        "Type": "Pass",
        "Parameters": {
            "error.$": "$.error",
            "failure.$": "$.failure",
            "message": {
                "default.$": "States.JsonToString($.failure)",
                "email.$": failure_email(workflow),
            },
        },
        "ResultPath": "$",
        "Next": "NotifyFailure",
    }


def _describe_failure(event_id: dict[str, Any]) -> dict[str, Any]:
    """The caught ``{"Error", "Cause"}`` as the failure notification (and kept at ``$.error``)."""
    return {
        "Type": "Pass",
        "Parameters": {
            "error": {"Error.$": "$.Error", "Cause.$": "$.Cause"},
            "failure": {
                "Blocked": "false",
                "Error.$": "$.Error",
                "Cause.$": "$.Cause",
                **event_id,
                "ExecutionId.$": "$$.Execution.Id",
            },
            "newline": "\n",
        },
        "ResultPath": "$",
        "Next": "FormatFailure",
    }


def _failure_tail(topic_arn: str, subject: str, workflow: str) -> dict[str, dict[str, Any]]:
    return {
        "FormatFailure": _format_failure(workflow),
        "NotifyFailure": {**_publish(topic_arn, "$.message", subject), "Next": "Failed"},
        "Failed": {
            "Type": "Fail",
            "Error": FAILURE_ERROR,
            "Cause": "A step failed; the failure notification carries its error and cause.",
        },
    }


def _response_failure_states(topic_arn: str) -> dict[str, dict[str, Any]]:
    """Describe the caught error, tell the admin, then fail the execution so it shows as failed.

    The event's ``id`` names it in the notification; an execution started by hand with ``{}`` (or
    anything without an ``id``) has none, and must still get its notification out.
    """
    return {
        "FailureNamesEvent": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$$.Execution.Input.id", "IsPresent": True, "Next": "DescribeFailure"},
            ],
            "Default": "DescribeFailureWithoutEvent",
        },
        "DescribeFailure": _describe_failure({"EventId.$": "$$.Execution.Input.id"}),
        "DescribeFailureWithoutEvent": _describe_failure({"EventId": None}),
        **_failure_tail(topic_arn, FAILURE_SUBJECT, "response"),
    }


def _choice(variable: str, then: str, otherwise: str) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [{"Variable": variable, "BooleanEquals": True, "Next": then}],
        "Default": otherwise,
    }


def annotation_states(annotate_arn: str, failure: str) -> dict[str, dict[str, Any]]:
    """Annotate the Security Hub finding after BlockHosts, and after its failure; never fail for it.

    ``$.record.annotate`` says whether the record step carried Security Hub finding identifiers. Each
    annotation task's Catch puts the error at ``$.annotation`` and goes on: an annotation failure never
    fails or undoes a block. BlockHosts' own failure is caught beside the (bounded) state at ``$.error``,
    so the failure annotation still has the record; ``BlockFailed`` then reduces the state to the error,
    the shape the unchanged failure path expects.
    """
    return {
        "ShouldAnnotate": _choice("$.record.annotate", "AnnotateFinding", "AnyNewlyBlocked"),
        "AnnotateFinding": {
            "Type": "Task",
            "Resource": annotate_arn,
            "InputPath": "$",
            "ResultPath": "$.annotation",
            "TimeoutSeconds": 900,
            "Retry": lambda_retry(),
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.annotation", "Next": "AnyNewlyBlocked"}
            ],
            "Next": "AnyNewlyBlocked",
        },
        "ShouldAnnotateFailure": _choice("$.record.annotate", "AnnotateFailure", "BlockFailed"),
        "AnnotateFailure": {
            "Type": "Task",
            "Resource": annotate_arn,
            "Parameters": {"record.$": "$.record", "error.$": "$.error"},
            "ResultPath": "$.annotation",
            "TimeoutSeconds": 900,
            "Retry": lambda_retry(),
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.annotation", "Next": "BlockFailed"}],
            "Next": "BlockFailed",
        },
        "BlockFailed": {
            "Type": "Pass",
            "Parameters": {"Error.$": "$.error.Error", "Cause.$": "$.error.Cause"},
            "ResultPath": "$",
            "Next": failure,
        },
    }


def response_definition(
    record_arn: str, block_arn: str, topic_arn: str, annotate_arn: str | None = None
) -> dict[str, Any]:
    """Record the finding's hosts, block them, notify; any failure is published and fails the run.

    The input is the EventBridge event (up to 256 KB). RecordHosts replaces it with its own bounded
    result at ``$.record``, so no later state carries the event; BlockHosts adds its bounded result at
    ``$.block`` (docs/DESIGN.md has both contracts). With ``annotate_arn`` (config ``updateFindings``)
    the Security Hub finding is annotated after BlockHosts and after its failure (``annotation_states``).
    """
    failure = "FailureNamesEvent"
    definition: dict[str, Any] = {
        "Comment": "nfw-blocklist: block the remote hosts of a GuardDuty finding in the rule group",
        "StartAt": "RecordHosts",
        "States": {
            "RecordHosts": _lambda_task(record_arn, "$", "record", "AnythingToBlock", failure, replace=True),
            "AnythingToBlock": _choice("$.record.has_hosts", "BlockHosts", "NothingToBlock"),
            "NothingToBlock": {"Type": "Succeed"},
            "BlockHosts": _lambda_task(block_arn, "$.record", "block", "AnyNewlyBlocked", failure),
            "AnyNewlyBlocked": _choice("$.block.notify", "NotifySuccess", "NothingNew"),
            "NothingNew": {"Type": "Succeed"},
            "NotifySuccess": {
                **_publish(topic_arn, "$.block.message", "$.block.subject"),
                "Catch": _catch(failure),
                "End": True,
            },
            **_response_failure_states(topic_arn),
        },
    }
    if annotate_arn is not None:
        states: dict[str, Any] = definition["States"]
        states["BlockHosts"]["Next"] = "ShouldAnnotate"
        states["BlockHosts"]["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ShouldAnnotateFailure"}
        ]
        states.update(annotation_states(annotate_arn, failure))
    return definition


def pruning_definition(prune_arn: str, topic_arn: str) -> dict[str, Any]:
    """Unblock expired hosts and reconcile the rule group with the ledger; notify when anything changed.

    The failure's EventId is the execution's id: the schedule's input carries an ``id`` too, but an
    operator starting a prune by hand with ``{}`` must still get a failure notification.
    """
    return {
        "Comment": "nfw-blocklist: unblock expired hosts, repair drift between ledger and rule group",
        "StartAt": "PruneExpired",
        "States": {
            "PruneExpired": _lambda_task(prune_arn, "$", "prune", "AnythingPruned", "DescribeFailure"),
            "AnythingPruned": _choice("$.prune.notify", "NotifyPruned", "NothingPruned"),
            "NothingPruned": {"Type": "Succeed"},
            "NotifyPruned": {
                **_publish(topic_arn, "$.prune.message", "$.prune.subject"),
                "Catch": _catch(),
                "End": True,
            },
            "DescribeFailure": _describe_failure({"EventId.$": "$$.Execution.Id"}),
            **_failure_tail(topic_arn, PRUNE_FAILURE_SUBJECT, "pruning"),
        },
    }
