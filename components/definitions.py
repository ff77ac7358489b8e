"""Amazon States Language definitions of the two workflows, as plain dicts.

Pure functions of the resources' ARNs, so they can be linted and inspected without Pulumi. The
Lambda tasks use the function ARN as the Resource (the "direct" form) rather than
``arn:aws:states:::lambda:invoke``: only that form puts the function's own result at ``$.record`` /
``$.block`` / ``$.prune``, which is where docs/DESIGN.md routes (``$.record.has_hosts``). The optimized
integration wraps it in ``{"Payload": ...}`` and JSONPath's ResultSelector cannot unwrap it. Retries and
error names behave the same in both forms.
"""

import re
from typing import Any, Final

from handlers import errors
from handlers.messages import MAX_SUBJECT, SUBJECT_TARGETS_MAX

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

FAILURE_ERROR: Final = "BlocklistWorkflowFailed"
TARGETS_NOT_BLOCKED: Final = "TargetsNotBlocked"
"""How an execution ends when the block step reported a kind of target it could not block."""


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


RESPONSE_FAILURE_LINES: Final = (
    ("nfw-blocklist stack {stack} in {region}: the response workflow failed ({{}}).", ("$.failure.Error",)),
    ("", ()),
    ("What failed: {{}}", ("$.reason",)),
    # An attack sequence's name on a line of its own, else nothing (``$.sequence`` holds its line break).
    ("Targets of this finding: {{}}{{}}", ("$.targets", "$.sequence")),
    (
        "What is blocked now: the step failed as a whole. What it recorded waits in the ledger as pending "
        "and goes into its place with the next block or pruning run; `nfw-blocklist status` shows what "
        "each place holds.",
        (),
    ),
    (
        "What to do: open the execution to see the failing step and fix the cause above. The next pruning "
        "run then brings every place in line with the ledger.",
        (),
    ),
    ("", ()),
    ("Execution: {{}}", ("$.links.execution",)),
    ("Finding: {{}}", ("$.links.finding",)),
    ("Event: {{}}", ("$.failure.EventId",)),
    ("", ()),
    ("Details (the error as Step Functions caught it): {{}}", ("$.failure.Cause",)),
)
"""The response failure e-mail, line by line, with the paths each line's ``{}`` take: what failed, for which
stack and targets, what is and is not blocked, what to do, then links. It holds no quote, brace or
backslash of its own (those need escaping in an intrinsic's string literal)."""
PRUNING_FAILURE_LINES: Final = (
    ("nfw-blocklist stack {stack} in {region}: the pruning workflow failed ({{}}).", ("$.failure.Error",)),
    ("", ()),
    ("What failed: {{}}", ("$.reason",)),
    (
        "What is blocked now: expired targets stay blocked and drift stays unrepaired until a pruning run "
        "succeeds; new findings are still blocked. `nfw-blocklist status` shows what each place holds.",
        (),
    ),
    ("What to do: open the execution to see the failing step and fix the cause above.", ()),
    ("", ()),
    ("Execution: {{}}", ("$.links.execution",)),
    ("", ()),
    ("Details (the error as Step Functions caught it): {{}}", ("$.failure.Cause",)),
)
NEWLINE_PATH: Final = "$.newline"
MAX_STACK_LABEL: Final = 40
"""Characters of the stack name a failure subject carries: with the region and the targets it stays
within SNS's 100."""


def region_of(arn: str) -> str:
    """``arn:aws:sns:us-east-1:...`` -> ``us-east-1`` (the region the workflow and its console live in)."""
    parts = arn.split(":")
    return (
        parts[3]
        if len(parts) > 5 and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", parts[3])
        else "unknown-region"
    )


def _label(stack: str) -> str:
    """The stack's name as an intrinsic's literal may hold it (no quote, brace or backslash), bounded."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", stack)[:MAX_STACK_LABEL]
    return cleaned or "unnamed"


def failure_email(lines: tuple[tuple[str, tuple[str, ...]], ...], stack: str, region: str) -> str:
    """``States.Format`` of a failure e-mail. Line breaks are arguments (``$.newline``, a literal newline
    the describing state sets): a raw one inside the intrinsic is not valid ASL to statelint."""
    template_parts: list[str] = []
    arguments: list[str] = []
    for index, (line, paths) in enumerate(lines):
        if index:
            template_parts.append("{}")
            arguments.append(NEWLINE_PATH)
        template_parts.append(line.format(stack=_label(stack), region=region))
        arguments.extend(paths)
    return f"States.Format('{''.join(template_parts)}', {', '.join(arguments)})"


def failure_subject(workflow: str, stack: str, region: str) -> str:
    """``nfw-blocklist dev (us-east-1): blocking failed`` (``workflow`` is "blocking" or "pruning").

    Short enough that `` for <targets>`` (``messages.SUBJECT_TARGETS_MAX``) still fits SNS's 100
    characters: a long stack name is cut, never the subject refused (NotifyFailure has no fallback)."""
    fixed = len(f"nfw-blocklist  ({region}): {workflow} failed for ") + SUBJECT_TARGETS_MAX
    label = _label(stack)[: max(1, MAX_SUBJECT - fixed)]
    return f"nfw-blocklist {label} ({region}): {workflow} failed"


def execution_link(region: str) -> str:
    """``States.Format`` of the execution's page in the Step Functions console."""
    return (
        f"States.Format('https://{region}.console.aws.amazon.com/states/home?region={region}"
        "#/v2/executions/details/{}', $$.Execution.Id)"
    )


def _cause_states(next_state: str) -> dict[str, dict[str, Any]]:
    """Read the error message out of a Lambda error's Cause (JSON with ``errorMessage`` and a stack trace).

    Only a Cause that looks like one is parsed (a Pass state cannot catch a parse error); any other
    Cause (a timeout, SNS's own error...) stays as it is in ``$.reason``, where the describing state put
    it. The whole Cause stays in the notification's JSON and at the end of the e-mail.
    """
    return {
        "CauseFromLambda": {
            "Type": "Choice",
            "Choices": [
                {
                    "Or": [
                        {"Variable": "$.failure.Cause", "StringMatches": '{"errorMessage"*}'},
                        {
                            "Variable": "$.failure.Cause",
                            "StringMatches": '{"error*"errorMessage"*}',
                        },
                    ],
                    "Next": "ReadLambdaCause",
                }
            ],
            "Default": next_state,
        },
        "ReadLambdaCause": {
            "Type": "Pass",
            "Parameters": {"parsed.$": "States.StringToJson($.failure.Cause)"},
            "ResultPath": "$.lambda",
            "Next": "LambdaReason",
        },
        "LambdaReason": {
            "Type": "Pass",
            "InputPath": "$.lambda.parsed.errorMessage",
            "ResultPath": "$.reason",
            "Next": next_state,
        },
    }


def _format_failure(
    lines: tuple[tuple[str, tuple[str, ...]], ...], stack: str, region: str
) -> dict[str, Any]:
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
            "subject.$": "$.subject",
            "message": {
                "default.$": "States.JsonToString($.failure)",
                "email.$": failure_email(lines, stack, region),
            },
        },
        "ResultPath": "$",
        "Next": "NotifyFailure",
    }


UNKNOWN_TARGETS: Final = "not known: the step failed before it recorded them"


def _describe_failure(
    event_id: dict[str, Any], stack: str, region: str, workflow: str, record: bool = False
) -> dict[str, Any]:
    """The caught ``{"Error", "Cause"}`` as the failure notification (and kept at ``$.error``); with
    ``record`` also the record step's targets kind by kind (the state is ``BlockFailed``'s)."""
    subject = failure_subject(workflow, stack, region)
    targets: dict[str, Any] = (
        {"Targets.$": "$.record.kinds", "FindingLink.$": "$.record.finding_link"}
        if record
        else {"Targets": None, "FindingLink": None}
    )
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
                "ExecutionUrl.$": execution_link(region),
                "Stack": _label(stack),
                "Region": region,
                **targets,
            },
            "reason.$": "$.Cause",
            "targets.$" if record else "targets": "$.record.targets" if record else UNKNOWN_TARGETS,
            "sequence.$" if record else "sequence": "$.record.sequence_line" if record else "",
            "subject.$" if record else "subject": (
                f"States.Format('{subject} for {{}}', $.record.summary)" if record else subject
            ),
            "links": {
                "execution.$": execution_link(region),
                **({"finding.$": "$.record.finding_link"} if record else {"finding": "-"}),
            },
            "newline": "\n",
        },
        "ResultPath": "$",
        "Next": "CauseFromLambda",
    }


def _failure_tail(
    topic_arn: str, lines: tuple[tuple[str, tuple[str, ...]], ...], stack: str, region: str
) -> dict[str, dict[str, Any]]:
    return {
        **_cause_states("FormatFailure"),
        "FormatFailure": _format_failure(lines, stack, region),
        "NotifyFailure": {**_publish(topic_arn, "$.message", "$.subject"), "Next": "Failed"},
        "Failed": {
            "Type": "Fail",
            "Error": FAILURE_ERROR,
            "Cause": "A step failed; the failure notification carries its error and cause.",
        },
    }


def _response_failure_states(topic_arn: str, stack: str, region: str) -> dict[str, dict[str, Any]]:
    """Describe the caught error, tell the admin, then fail the execution so it shows as failed.

    The event's ``id`` names it in the notification; an execution started by hand with ``{}`` (or
    anything without an ``id``) has none, and must still get its notification out. A failed BlockHosts
    keeps the record step's result beside its error (``BlockFailed``), so its notification names the
    targets; BlockHosts runs only after RecordHosts read an event with an ``id``.
    """
    return {
        "FailureNamesEvent": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$$.Execution.Input.id", "IsPresent": True, "Next": "DescribeFailure"},
            ],
            "Default": "DescribeFailureWithoutEvent",
        },
        "DescribeFailure": _describe_failure(
            {"EventId.$": "$$.Execution.Input.id"}, stack, region, "blocking"
        ),
        "DescribeFailureWithoutEvent": _describe_failure({"EventId": None}, stack, region, "blocking"),
        "BlockFailed": {
            "Type": "Pass",
            "Parameters": {"Error.$": "$.error.Error", "Cause.$": "$.error.Cause", "record.$": "$.record"},
            "ResultPath": "$",
            "Next": "DescribeBlockFailure",
        },
        "DescribeBlockFailure": _describe_failure(
            {"EventId.$": "$$.Execution.Input.id"}, stack, region, "blocking", record=True
        ),
        **_failure_tail(topic_arn, RESPONSE_FAILURE_LINES, stack, region),
    }


def _choice(variable: str, then: str, otherwise: str) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [{"Variable": variable, "BooleanEquals": True, "Next": then}],
        "Default": otherwise,
    }


def _annotation_task(annotate_arn: str, next_state: str, **given: Any) -> dict[str, Any]:
    """A task of the annotate function that never fails the workflow: its error, like its result, lands at
    ``$.annotation`` and the workflow goes on to ``next_state``; ``given``: its input (``InputPath`` or
    ``Parameters``)."""
    return {
        "Type": "Task",
        "Resource": annotate_arn,
        **given,
        "ResultPath": "$.annotation",
        "TimeoutSeconds": 900,
        "Retry": lambda_retry(),
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.annotation", "Next": next_state}],
        "Next": next_state,
    }


def annotation_states(annotate_arn: str) -> dict[str, dict[str, Any]]:
    """Annotate the Security Hub finding after BlockHosts, and after its failure; never fail for it.

    ``$.record.annotate`` says whether the record step carried Security Hub finding identifiers. Each
    annotation task's Catch puts the error at ``$.annotation`` and goes on: an annotation failure never
    fails or undoes a block. BlockHosts' own failure is caught beside the (bounded) state at ``$.error``,
    so the failure annotation still has the record; ``BlockFailed`` then reduces the state to the error and
    the record, the shape the failure path expects.
    """
    return {
        "ShouldAnnotate": _choice("$.record.annotate", "AnnotateFinding", "AnyNewlyBlocked"),
        "AnnotateFinding": _annotation_task(annotate_arn, "AnyNewlyBlocked", InputPath="$"),
        "ShouldAnnotateFailure": _choice("$.record.annotate", "AnnotateFailure", "BlockFailed"),
        "AnnotateFailure": _annotation_task(
            annotate_arn, "BlockFailed", Parameters={"record.$": "$.record", "error.$": "$.error"}
        ),
    }


def steering_states(steer_arn: str, topic_arn: str, failure: str) -> dict[str, dict[str, Any]]:
    """A person's decision (``$.record.steer``: AnythingToBlock's first choice) -> SteerHosts ->
    NotifySteered -> AnythingElseToBlock (a decision alone has nothing to block; a record step that also
    recorded other findings' hosts has) -> BlockHosts or Steered."""
    return {
        "SteerHosts": _lambda_task(steer_arn, "$.record", "steer", "NotifySteered", failure),
        "NotifySteered": {
            **_publish(topic_arn, "$.steer.message", "$.steer.subject"),
            "Catch": _catch(failure),
            "Next": "AnythingElseToBlock",
        },
        "AnythingElseToBlock": _choice("$.record.has_hosts", "BlockHosts", "Steered"),
        "Steered": {"Type": "Succeed"},
    }


def response_definition(
    record_arn: str,
    block_arn: str,
    topic_arn: str,
    annotate_arn: str | None = None,
    stack: str = "",
    steer_arn: str | None = None,
) -> dict[str, Any]:
    """Record the finding's hosts, block them, notify; any failure is published and fails the run.

    The input is the EventBridge event (up to 256 KB). RecordHosts replaces it with its own bounded
    result at ``$.record``, so no later state carries the event; BlockHosts adds its bounded result at
    ``$.block`` (docs/DESIGN.md has both contracts). With ``annotate_arn`` (config ``updateFindings``)
    the Security Hub finding is annotated after BlockHosts and after its failure (``annotation_states``).
    ``stack`` names the stack in the failure notification (with the region, read from ``topic_arn``).
    With ``steer_arn``, a person's decision the record step read (``$.record.steer``: a finding suppressed,
    resolved or archived, or a custom action) goes to SteerHosts instead, and its outcome is e-mailed.
    """
    failure = "FailureNamesEvent"
    region = region_of(topic_arn)
    block = _lambda_task(block_arn, "$.record", "block", "AnyNewlyBlocked", failure)
    # BlockHosts' failure keeps the (bounded) record beside the error: its notification names the targets.
    block["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "BlockFailed"}]
    definition: dict[str, Any] = {
        "Comment": "nfw-blocklist: block the remote hosts of a GuardDuty finding in the rule group",
        "StartAt": "RecordHosts",
        "States": {
            "RecordHosts": _lambda_task(record_arn, "$", "record", "AnythingToBlock", failure, replace=True),
            "AnythingToBlock": _choice("$.record.has_hosts", "BlockHosts", "NothingToBlock"),
            "NothingToBlock": {"Type": "Succeed"},
            "BlockHosts": block,
            "AnyNewlyBlocked": _choice("$.block.notify", "NotifySuccess", "NothingNew"),
            "NothingNew": {"Type": "Succeed"},
            "NotifySuccess": {
                **_publish(topic_arn, "$.block.message", "$.block.subject"),
                "Catch": _catch(failure),
                "Next": "AnyTargetNotBlocked",
            },
            # A kind of target that could not be blocked (its place full, missing...) was reported, kind
            # by kind, in the notification just sent; the execution still ends failed, for the alarm.
            "AnyTargetNotBlocked": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.block.failed", "IsPresent": True},
                            {"Variable": "$.block.failed", "BooleanEquals": True},
                        ],
                        "Next": "TargetsNotBlocked",
                    }
                ],
                "Default": "Blocked",
            },
            "Blocked": {"Type": "Succeed"},
            "TargetsNotBlocked": {
                "Type": "Fail",
                "Error": TARGETS_NOT_BLOCKED,
                "Cause": "A kind of target could not be blocked; the notification says which, where and why.",
            },
            **_response_failure_states(topic_arn, stack, region),
        },
    }
    if steer_arn is not None:
        steering = definition["States"]
        steering["AnythingToBlock"]["Choices"].insert(
            0, {"Variable": "$.record.steer", "IsPresent": True, "Next": "SteerHosts"}
        )
        steering.update(steering_states(steer_arn, topic_arn, failure))
        if annotate_arn is not None:
            # The decision is noted on the Security Hub findings; a failed note never stops the e-mail.
            steering["SteerHosts"]["Next"] = "AnnotateSteered"
            steering["AnnotateSteered"] = _annotation_task(annotate_arn, "NotifySteered", InputPath="$")
    if annotate_arn is not None:
        states: dict[str, Any] = definition["States"]
        states["BlockHosts"]["Next"] = "ShouldAnnotate"
        states["BlockHosts"]["Catch"][0]["Next"] = "ShouldAnnotateFailure"
        states.update(annotation_states(annotate_arn))
    return definition


def pruning_definition(prune_arn: str, topic_arn: str, stack: str = "") -> dict[str, Any]:
    """Unblock expired hosts and reconcile the rule group with the ledger; notify when anything changed.

    The failure's EventId is the execution's id: the schedule's input carries an ``id`` too, but an
    operator starting a prune by hand with ``{}`` must still get a failure notification.
    """
    region = region_of(topic_arn)
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
            "DescribeFailure": _describe_failure({"EventId.$": "$$.Execution.Id"}, stack, region, "pruning"),
            **_failure_tail(topic_arn, PRUNING_FAILURE_LINES, stack, region),
        },
    }
