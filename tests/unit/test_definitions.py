"""The two workflows' definitions: valid ASL, the documented shape, the right resources."""

import pytest
from statelint.linter import Linter

from components.definitions import (
    LAMBDA_SERVICE_ERRORS,
    pruning_definition,
    response_definition,
)
from handlers import errors
from handlers.messages import MAX_SUBJECT, SUBJECT_TARGETS_MAX, finding_link

RECORD = "arn:aws:lambda:us-east-1:123456789012:function:nfw-blocklist-record"
BLOCK = "arn:aws:lambda:us-east-1:123456789012:function:nfw-blocklist-block"
PRUNE = "arn:aws:lambda:us-east-1:123456789012:function:nfw-blocklist-prune"
TOPIC = "arn:aws:sns:us-east-1:123456789012:nfw-blocklist-notifications"


@pytest.fixture
def response() -> dict:
    return response_definition(RECORD, BLOCK, TOPIC, stack="dev")


@pytest.fixture
def pruning() -> dict:
    return pruning_definition(PRUNE, TOPIC)


def test_response_definition_passes_statelint(response):
    assert Linter.validate(response) == []


def test_pruning_definition_passes_statelint(pruning):
    assert Linter.validate(pruning) == []


def test_statelint_rejects_a_definition_with_a_dangling_next(response):
    response["States"]["BlockHosts"]["Next"] = "NoSuchState"

    problems = Linter.validate(response)

    assert any("NoSuchState" in problem for problem in problems), problems


def test_response_runs_record_then_block_then_notify(response):
    states = response["States"]
    assert response["StartAt"] == "RecordHosts"
    assert states["RecordHosts"]["Next"] == "AnythingToBlock"
    assert states["AnythingToBlock"]["Choices"] == [
        {"Variable": "$.record.has_hosts", "BooleanEquals": True, "Next": "BlockHosts"}
    ]
    assert states["AnythingToBlock"]["Default"] == "NothingToBlock"
    assert states["BlockHosts"]["Next"] == "AnyNewlyBlocked"
    assert states["AnyNewlyBlocked"]["Choices"][0]["Variable"] == "$.block.notify"
    assert states["AnyNewlyBlocked"]["Choices"][0]["Next"] == "NotifySuccess"
    assert states["AnyNewlyBlocked"]["Default"] == "NothingNew"
    assert states["NotifySuccess"]["Next"] == "AnyTargetNotBlocked"
    assert states["AnyTargetNotBlocked"]["Default"] == "Blocked"
    assert (
        states["NothingToBlock"]["Type"]
        == states["NothingNew"]["Type"]
        == states["Blocked"]["Type"]
        == "Succeed"
    )


def test_a_kind_of_target_not_blocked_is_notified_then_fails_the_execution(response):
    states = response["States"]

    [choice] = states["AnyTargetNotBlocked"]["Choices"]
    assert choice["Next"] == "TargetsNotBlocked"
    assert {"Variable": "$.block.failed", "BooleanEquals": True} in choice["And"]
    assert states["TargetsNotBlocked"] == {
        **states["TargetsNotBlocked"],
        "Type": "Fail",
        "Error": "TargetsNotBlocked",
    }


def test_response_tasks_call_the_record_and_block_functions(response):
    record, block = response["States"]["RecordHosts"], response["States"]["BlockHosts"]
    assert (record["Resource"], record["InputPath"], record["ResultPath"]) == (RECORD, "$", "$")
    assert record["ResultSelector"] == {"record.$": "$"}
    assert (block["Resource"], block["InputPath"], block["ResultPath"]) == (BLOCK, "$.record", "$.block")


def test_the_state_after_record_hosts_no_longer_carries_the_event(response):
    """The event may be ~256 KB: kept beside the record result it would overflow the state limit."""
    record = response["States"]["RecordHosts"]

    assert record["ResultPath"] == "$" and set(record["ResultSelector"]) == {"record.$"}


def test_success_notification_publishes_the_block_steps_message_per_protocol_to_the_topic(response):
    notify = response["States"]["NotifySuccess"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"] == {
        "TopicArn": TOPIC,
        "Subject.$": "$.block.subject",
        "MessageStructure": "json",
        "Message.$": "States.JsonToString($.block.message)",
    }


def test_pruning_notification_publishes_the_prune_steps_message_per_protocol(pruning):
    assert pruning["States"]["NotifyPruned"]["Parameters"] == {
        "TopicArn": TOPIC,
        "Subject.$": "$.prune.subject",
        "MessageStructure": "json",
        "Message.$": "States.JsonToString($.prune.message)",
    }


@pytest.mark.parametrize("state", ["RecordHosts", "BlockHosts"])
def test_lambda_tasks_retry_service_errors_and_rule_group_contention(response, state):
    retry = response["States"][state]["Retry"]
    assert retry[0] == {
        "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2.0,
    }
    retryable = [
        errors.RuleGroupContention.__name__,
        errors.FirewallUnavailable.__name__,
        errors.LedgerUnavailable.__name__,
    ]
    assert retry[1]["ErrorEquals"] == retryable
    assert retry[1]["JitterStrategy"] == "FULL"


@pytest.mark.parametrize("state", ["RecordHosts", "NotifySuccess"])
def test_every_failure_is_caught_into_the_failure_path_replacing_the_state(response, state):
    # ResultPath "$": the error added beside a ~256 KB event could itself exceed the state limit.
    assert response["States"][state]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "FailureNamesEvent"}
    ]


def test_failure_path_names_the_event_only_when_the_input_has_an_id(response):
    states = response["States"]
    assert states["FailureNamesEvent"]["Choices"] == [
        {"Variable": "$$.Execution.Input.id", "IsPresent": True, "Next": "DescribeFailure"}
    ]
    assert states["FailureNamesEvent"]["Default"] == "DescribeFailureWithoutEvent"
    assert states["DescribeFailure"]["Parameters"]["failure"]["EventId.$"] == "$$.Execution.Input.id"
    assert states["DescribeFailureWithoutEvent"]["Parameters"]["failure"]["EventId"] is None


def test_a_failed_block_keeps_the_record_beside_its_error_so_the_notification_names_the_targets(response):
    states = response["States"]

    assert states["BlockHosts"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "BlockFailed"}
    ]
    assert states["BlockFailed"]["Parameters"]["record.$"] == "$.record"
    assert states["BlockFailed"]["Next"] == "DescribeBlockFailure"
    describe = states["DescribeBlockFailure"]["Parameters"]
    assert describe["failure"]["Targets.$"] == "$.record.kinds"
    assert describe["targets.$"] == "$.record.targets"
    assert describe["subject.$"] == (
        "States.Format('nfw-blocklist dev (us-east-1): blocking failed for {}', $.record.summary)"
    )


def test_the_failure_email_names_stack_and_region_and_links_the_execution_in_the_console(response):
    states = response["States"]
    describe = states["DescribeFailure"]["Parameters"]

    assert describe["subject"] == "nfw-blocklist dev (us-east-1): blocking failed"
    assert describe["failure"]["Stack"] == "dev"
    assert describe["links"]["execution.$"] == (
        "States.Format('https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
        "#/v2/executions/details/{}', $$.Execution.Id)"
    )
    email = states["FormatFailure"]["Parameters"]["message"]["email.$"]
    assert email.startswith(
        "States.Format('nfw-blocklist stack dev in us-east-1: the response workflow failed"
    )
    for line in ("What failed: {}", "Targets of this finding: {}", "What is blocked now: ", "What to do: "):
        assert line in email
    assert states["NotifyFailure"]["Parameters"]["Subject.$"] == "$.subject"


def test_a_lambda_errors_message_is_read_out_of_its_cause_only_when_the_cause_is_one(response):
    states = response["States"]

    [choice] = states["CauseFromLambda"]["Choices"]
    assert choice["Next"] == "ReadLambdaCause"
    assert states["CauseFromLambda"]["Default"] == "FormatFailure"
    assert states["ReadLambdaCause"]["Parameters"] == {"parsed.$": "States.StringToJson($.failure.Cause)"}
    assert (states["LambdaReason"]["InputPath"], states["LambdaReason"]["ResultPath"]) == (
        "$.lambda.parsed.errorMessage",
        "$.reason",
    )


@pytest.mark.parametrize("state", ["DescribeFailure", "DescribeFailureWithoutEvent"])
def test_failure_path_describes_notifies_and_fails(response, state):
    states = response["States"]
    describe = states[state]
    assert describe["Type"] == "Pass"
    assert describe["ResultPath"] == "$"
    assert describe["Next"] == "CauseFromLambda"
    assert describe["Parameters"]["reason.$"] == "$.Cause"
    failure = describe["Parameters"]["failure"]
    assert failure["Blocked"] == "false"
    assert (failure["Error.$"], failure["Cause.$"]) == ("$.Error", "$.Cause")
    assert failure["ExecutionId.$"] == "$$.Execution.Id"
    assert describe["Parameters"]["error"] == {"Error.$": "$.Error", "Cause.$": "$.Cause"}
    assert states["FormatFailure"]["Next"] == "NotifyFailure"
    assert states["FormatFailure"]["Parameters"]["message"]["default.$"] == "States.JsonToString($.failure)"
    assert states["NotifyFailure"]["Parameters"]["MessageStructure"] == "json"
    assert states["NotifyFailure"]["Parameters"]["Message.$"] == "States.JsonToString($.message)"
    assert states["NotifyFailure"]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


def test_pruning_runs_prune_then_notifies_when_anything_changed(pruning):
    states = pruning["States"]
    assert pruning["StartAt"] == "PruneExpired"
    assert states["PruneExpired"]["Resource"] == PRUNE
    assert states["PruneExpired"]["ResultPath"] == "$.prune"
    assert states["AnythingPruned"]["Choices"][0]["Variable"] == "$.prune.notify"
    assert states["AnythingPruned"]["Choices"][0]["Next"] == "NotifyPruned"
    assert states["AnythingPruned"]["Default"] == "NothingPruned"
    assert states["NotifyPruned"]["Parameters"]["TopicArn"] == TOPIC


def test_pruning_failure_names_the_execution_so_a_start_without_id_still_notifies(pruning):
    assert pruning["States"]["DescribeFailure"]["Parameters"]["failure"]["EventId.$"] == "$$.Execution.Id"
    assert pruning["States"]["PruneExpired"]["Catch"][0]["Next"] == "DescribeFailure"


ANNOTATE = "arn:aws:lambda:us-east-1:123456789012:function:nfw-blocklist-annotate"


@pytest.fixture
def annotating() -> dict:
    return response_definition(RECORD, BLOCK, TOPIC, ANNOTATE)


def test_the_annotating_definition_passes_statelint(annotating):
    assert Linter.validate(annotating) == []


def test_without_annotation_the_workflow_has_no_annotation_state(response):
    assert not {"ShouldAnnotate", "AnnotateFinding", "AnnotateFailure"} & set(response["States"])
    assert response["States"]["BlockHosts"]["Next"] == "AnyNewlyBlocked"


def test_a_finding_is_annotated_after_block_hosts_and_an_annotation_failure_goes_on_to_notify(annotating):
    states = annotating["States"]

    assert states["BlockHosts"]["Next"] == "ShouldAnnotate"
    assert states["ShouldAnnotate"]["Choices"][0]["Variable"] == "$.record.annotate"
    assert states["AnnotateFinding"]["Resource"] == ANNOTATE
    assert states["AnnotateFinding"]["Next"] == "AnyNewlyBlocked"
    assert states["AnnotateFinding"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.annotation", "Next": "AnyNewlyBlocked"}
    ]


def test_a_failed_block_is_annotated_then_takes_the_unchanged_failure_path(annotating):
    states = annotating["States"]

    assert states["BlockHosts"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ShouldAnnotateFailure"}
    ]
    assert states["AnnotateFailure"]["Parameters"] == {"record.$": "$.record", "error.$": "$.error"}
    assert states["AnnotateFailure"]["Catch"][0]["Next"] == states["AnnotateFailure"]["Next"] == "BlockFailed"
    assert states["ShouldAnnotateFailure"]["Default"] == "BlockFailed"
    assert states["BlockFailed"] == {
        "Type": "Pass",
        "Parameters": {"Error.$": "$.error.Error", "Cause.$": "$.error.Cause", "record.$": "$.record"},
        "ResultPath": "$",
        "Next": "DescribeBlockFailure",
    }


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-4", "us-gov-west-1"])
def test_a_failure_subject_with_its_targets_fits_sns_whatever_the_stack_name(region):
    topic = f"arn:aws:sns:{region}:123456789012:nfw-blocklist-notifications"
    definition = response_definition(RECORD, BLOCK, topic, stack="a-very-long-stack-name-" * 4)
    template = definition["States"]["DescribeBlockFailure"]["Parameters"]["subject.$"]
    subject = template.split("'")[1].replace("{}", "x" * SUBJECT_TARGETS_MAX)

    assert len(subject) <= MAX_SUBJECT, subject
    assert subject.startswith("nfw-blocklist a-very-long") and f"({region})" in subject


@pytest.mark.parametrize(
    ("finding_id", "region", "link"),
    [
        ("1234680e481690b44f7cc7e221abcdef", "us-east-1", "fId=1234680e481690b44f7cc7e221abcdef"),
        (
            "arn:aws:guardduty:us-east-1:1:detector/d/finding/1234680e481690b44f7cc7e221abcdef",
            "us-east-1",
            "fId=",
        ),
        ("1234680e481690b44f7cc7e221abcdef", "evil.example/#", "-"),
        ("../../phish?x=1", "us-east-1", "-"),
        ("", "", "-"),
    ],
)
def test_a_finding_link_is_only_ever_the_guardduty_console_for_a_guardduty_id(finding_id, region, link):
    built = finding_link(finding_id, region)

    assert link in built
    assert built == "-" or built.startswith(f"https://{region}.console.aws.amazon.com/guardduty/home?")


STEER = "arn:aws:lambda:us-east-1:123456789012:function:nfw-blocklist-steer"


@pytest.fixture
def steering() -> dict:
    return response_definition(RECORD, BLOCK, TOPIC, ANNOTATE, stack="dev", steer_arn=STEER)


def test_the_steering_definition_passes_statelint(steering):
    assert Linter.validate(steering) == []


def test_a_persons_decision_goes_to_steer_hosts_then_is_emailed(steering):
    states = steering["States"]

    assert states["RecordHosts"]["Next"] == "AnythingToBlock"
    decided, recorded = states["AnythingToBlock"]["Choices"]
    assert decided == {"Variable": "$.record.steer", "IsPresent": True, "Next": "SteerHosts"}
    assert recorded["Next"] == "BlockHosts"
    assert states["SteerHosts"]["Resource"] == STEER
    assert states["SteerHosts"]["InputPath"] == "$.record"
    assert states["NotifySteered"]["Parameters"]["Message.$"] == "States.JsonToString($.steer.message)"
    assert states["NotifySteered"]["Next"] == "AnythingElseToBlock"
    assert states["AnythingElseToBlock"]["Choices"][0]["Next"] == "BlockHosts"
    assert states["AnythingElseToBlock"]["Default"] == "Steered"


def test_without_annotation_a_decision_is_emailed_straight_after_steer_hosts():
    definition = response_definition(RECORD, BLOCK, TOPIC, stack="dev", steer_arn=STEER)

    assert Linter.validate(definition) == []
    assert definition["States"]["SteerHosts"]["Next"] == "NotifySteered"


def test_a_failed_steer_takes_the_failure_path(steering):
    assert steering["States"]["SteerHosts"]["Catch"][0]["Next"] == "FailureNamesEvent"


def test_a_decision_is_noted_on_the_finding_and_a_failed_note_still_sends_the_email(steering):
    states = steering["States"]

    assert states["SteerHosts"]["Next"] == "AnnotateSteered"
    assert states["AnnotateSteered"]["Resource"] == ANNOTATE
    assert states["AnnotateSteered"]["Next"] == "NotifySteered"
    assert states["AnnotateSteered"]["Catch"][0]["Next"] == "NotifySteered"
