"""The sandbox refuses what AWS refuses: taken and malformed names, and payloads over AWS's limits.

Each limit is shown from both sides on the toy stack: just over is refused the way AWS refuses it,
just under goes through. The limits themselves are in ``components.aws_limits``.
"""

import dataclasses
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from components.aws_limits import (
    EVENT_ENTRY_BYTES,
    LAMBDA_ENVIRONMENT_BYTES,
    LAMBDA_SYNC_RESPONSE_BYTES,
    SNS_MESSAGE_BYTES,
    STATE_PAYLOAD_BYTES,
)
from nfw_blocklist.sandbox import Sandbox, WiringError
from nfw_blocklist.sandbox.core import EventTooLarge, event_entry_size
from nfw_blocklist.sandbox.deploy import InvocationFailed
from nfw_blocklist.sandbox.limits import LimitExceeded, NameRefused, NameTaken
from tests.e2e.toy_stack import ToyRendered, ToyResource, toy_render

SIZED = "tests.e2e.toy_handlers.sized"
MATCHING: dict[str, Any] = {
    "id": "e-1",
    "source": "toy",
    "detail-type": "t",
    "time": "2021-01-05T01:15:01Z",
    "detail": {"items": [{"kind": "match"}]},
}


@pytest.fixture
def sized():
    """The toy stack whose function returns ``{"blob": "x" * size}``."""
    with Sandbox(toy_render(handler=SIZED)) as sandbox:
        yield sandbox


def _renamed(rendered: ToyRendered, logical: str, **inputs: Any) -> ToyRendered:
    """The render with one resource's inputs changed (a wrong declaration)."""
    resources = [
        dataclasses.replace(r, inputs={**r.inputs, **inputs}) if r.name == logical else r
        for r in rendered.resources
    ]
    return dataclasses.replace(rendered, resources=resources)


def _with_copy(rendered: ToyRendered, logical: str) -> ToyRendered:
    """The render plus a second resource, under another logical name, declaring the same physical name."""
    (original,) = [r for r in rendered.resources if r.name == logical]
    return dataclasses.replace(
        rendered, resources=[*rendered.resources, dataclasses.replace(original, name=f"{logical}-again")]
    )


# --- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logical", "name"),
    [
        ("toy-role", "toy-role"),
        ("toy-table", "toy-table"),
        ("toy-topic", "toy-topic"),
        ("toy-rg", "toy-rg"),
        ("toy-fn-logs", "/aws/lambda/toy-fn"),
        ("toy-fn", "toy-fn"),
        ("toy-response", "toy-response"),
        ("toy-rule", "toy-rule"),
        ("toy-schedule", "toy-schedule"),
    ],
)
def test_a_second_resource_with_a_taken_name_fails_the_deployment_naming_both(logical, name):
    with pytest.raises(
        NameTaken, match=rf"::{logical}-again: .* name '{name}' is already taken .* by .*::{logical}"
    ):
        Sandbox(_with_copy(toy_render(), logical)).start()


def test_the_same_stack_deployed_twice_into_one_sandbox_collides_on_its_first_fixed_name():
    with (
        Sandbox(toy_render()) as sandbox,
        pytest.raises(
            NameTaken,
            match=r"log group name '/aws/lambda/toy-fn' is already taken in account 123456789012 region",
        ),
    ):
        sandbox.deploy(toy_render())


def test_a_refused_render_creates_nothing_and_the_sandbox_carries_on():
    clashing = toy_render(prefix="other", extra=_with_copy(toy_render(), "toy-fn").resources[-1:])

    with Sandbox(toy_render()) as sandbox:
        with pytest.raises(NameTaken, match="'toy-fn' is already taken"):
            sandbox.deploy(clashing)
        other = sandbox.deploy(toy_render(prefix="other"))

        roles = sorted(role["RoleName"] for role in sandbox.client("iam").list_roles()["Roles"])
        assert roles == ["other-role", "toy-role"]
        assert other.table_name == "other-table"


def test_a_second_render_with_its_own_names_deploys_beside_the_first_and_both_receive_events():
    with Sandbox(toy_render()) as first:
        second = first.deploy(toy_render(prefix="other"))

        delivery = first.deliver({**MATCHING, "detail": {"items": [{"kind": "match"}]}})

        assert sorted(delivery.matched_rules) == ["other-rule", "toy-rule"]
        assert [run.status for run in delivery.executions] == ["SUCCEEDED", "SUCCEEDED"]
        assert (first.table_name, second.table_name) == ("toy-table", "other-table")
        assert first.response_state_machine.name == "toy-response"
        assert second.response_state_machine.name == "other-response"


@pytest.mark.parametrize(
    ("logical", "name", "why"),
    [
        ("toy-rg", "toy_rg", "has characters AWS refuses; allowed: letters, digits and -"),
        ("toy-role", "r" * 65, "is 65 characters; AWS allows 1 to 64"),
        ("toy-fn", "f" * 65, "is 65 characters; AWS allows 1 to 64"),
        ("toy-response", "has space", "has characters AWS refuses"),
        ("toy-table", "tb", "is 2 characters; AWS allows 3 to 255"),
        ("toy-role", "role name", r"has characters AWS refuses; allowed: letters, digits and \+=,\.@_-"),
        ("toy-policy", "p" * 129, "is 129 characters; AWS allows 1 to 128"),
    ],
)
def test_a_name_aws_refuses_fails_the_deployment(logical, name, why):
    with pytest.raises(NameRefused, match=rf"::{logical}: .* name '{name}' {why}"):
        Sandbox(_renamed(toy_render(), logical, name=name)).start()


# --- IAM policy documents ----------------------------------------------------------------------------


def _document(chars: int, indent: int | None = None) -> str:
    """A policy document IAM counts as ``chars`` characters (its JSON without whitespace), written with
    ``indent`` (IAM does not count the whitespace)."""
    document: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::"}],
    }
    compact = len(json.dumps(document, separators=(",", ":")))
    document["Statement"][0]["Resource"] += "b" * (chars - compact)
    return json.dumps(document, indent=indent)


def _toy_policy_chars() -> int:
    (policy,) = [r for r in toy_render().resources if r.name == "toy-policy"]
    return len(json.dumps(json.loads(policy.inputs["policy"]), separators=(",", ":")))


def _second_inline_policy(chars: int) -> ToyResource:
    return ToyResource(
        "aws:iam/rolePolicy:RolePolicy",
        "toy-more",
        {"role": "toy-role", "name": "toy-more", "policy": _document(chars)},
    )


def test_a_roles_inline_policies_over_10240_characters_together_fail_the_deployment_naming_the_role():
    rendered = toy_render(extra=(_second_inline_policy(10_240 - _toy_policy_chars() + 1),))

    with pytest.raises(
        LimitExceeded,
        match=r"::toy-more: LimitExceeded: Maximum policy size of 10240 bytes exceeded for role toy-role "
        r"\(its inline policies are 10241 characters without whitespace\)$",
    ):
        Sandbox(rendered).start()


@pytest.mark.parametrize(("chars", "refused"), [(6_144, False), (6_145, True)])
def test_a_managed_policy_over_6144_characters_fails_the_deployment(chars, refused):
    managed = ToyResource(
        "aws:iam/policy:Policy",
        "toy-managed",
        {"name": "toy-managed", "policy": _document(chars, indent=2)},
        {"arn": "arn:aws:iam::123456789012:policy/toy-managed"},
    )
    sandbox = Sandbox(toy_render(extra=(managed,)))
    if refused:
        with pytest.raises(
            LimitExceeded, match=r"::toy-managed: LimitExceeded: Cannot exceed quota for PolicySize: 6144 "
        ):
            sandbox.start()
    else:
        with sandbox:
            assert sandbox.client("iam").get_policy(PolicyArn=managed.state["arn"])["Policy"]["PolicyName"]


def test_a_role_trust_policy_over_2048_characters_fails_the_deployment():
    rendered = _renamed(toy_render(), "toy-role", assumeRolePolicy=_document(2_049, indent=2))

    with pytest.raises(
        LimitExceeded, match=r"::toy-role: LimitExceeded: Cannot exceed quota for ACLSizePerRole: 2048 "
    ):
        Sandbox(rendered).start()


def test_a_function_logging_to_a_log_group_the_program_does_not_create_fails_the_deployment():
    with pytest.raises(WiringError, match=r"toy-fn: loggingConfig.logGroup '/aws/lambda/elsewhere' is not"):
        Sandbox(toy_render(log_group="/aws/lambda/elsewhere")).start()


def test_log_groups_are_created_with_their_retention():
    with Sandbox(toy_render()) as sandbox:
        (group,) = sandbox.client("logs").describe_log_groups()["logGroups"]

    assert (group["logGroupName"], group["retentionInDays"]) == ("/aws/lambda/toy-fn", 7)


# --- Lambda ----------------------------------------------------------------------------------------


def _environment_of_size(total: int) -> dict[str, str]:
    """Variables that, with the toy's own two, measure exactly ``total`` bytes as Lambda measures them."""
    base = {"NFW_TABLE_NAME": "toy-table", "TOY_GREETING": "hello"}
    empty = len(json.dumps({**base, "PAD": ""}, separators=(",", ":")))
    return {"PAD": "p" * (total - empty)}


def test_a_function_environment_over_4_kb_fails_the_deployment():
    with pytest.raises(LimitExceeded, match=r"toy-fn: .*exceeded the 4KB limit \(4097 bytes measured"):
        Sandbox(toy_render(environment=_environment_of_size(LAMBDA_ENVIRONMENT_BYTES + 1))).start()


def test_a_function_environment_of_exactly_4_kb_deploys():
    with Sandbox(toy_render(environment=_environment_of_size(LAMBDA_ENVIRONMENT_BYTES))) as sandbox:
        assert len(sandbox.function("echo").environment["PAD"]) > 4000


def _invoke(sandbox: Sandbox, event: dict[str, Any]) -> dict[str, Any]:
    response = sandbox.client("lambda").invoke(FunctionName="toy-fn", Payload=json.dumps(event).encode())
    payload: dict[str, Any] = json.loads(response["Payload"].read())
    return {"error": response.get("FunctionError"), "payload": payload}


def test_a_response_over_6_mb_is_a_function_error(sized):
    overhead = len(json.dumps({"blob": ""}))

    over = _invoke(sized, {"size": LAMBDA_SYNC_RESPONSE_BYTES - overhead + 1})
    under = _invoke(sized, {"size": LAMBDA_SYNC_RESPONSE_BYTES - overhead})

    assert over["error"] == "Unhandled"
    assert over["payload"]["errorType"] == "Function.ResponseSizeTooLarge"
    assert under["error"] is None
    assert len(under["payload"]["blob"]) == LAMBDA_SYNC_RESPONSE_BYTES - overhead


# --- Step Functions --------------------------------------------------------------------------------


def test_a_task_result_over_256_kib_fails_the_execution_uncaught_by_states_all(sized):
    [run] = sized.put_event({**MATCHING, "detail": {**MATCHING["detail"], "size": STATE_PAYLOAD_BYTES}})

    assert (run.status, run.error) == ("FAILED", "States.DataLimitExceeded")
    assert "NotifyFailure" not in run.entered_states, "States.ALL must not catch DataLimitExceeded"
    assert sized.notifications() == []


def test_a_state_output_just_under_256_kib_succeeds(sized):
    event = {**MATCHING, "detail": {**MATCHING["detail"], "size": 0}}
    # The Work state's output is its input plus {"work": {"value": {"blob": ...}}}; the task's raw
    # result (the blob plus Lambda's response metadata, under 1 KiB) must fit too.
    empty_output = len(json.dumps({**event, "work": {"value": {"blob": ""}}}, separators=(",", ":")))
    blob = STATE_PAYLOAD_BYTES - empty_output - 1024
    event["detail"]["size"] = blob

    [run] = sized.put_event(event)

    assert run.status == "SUCCEEDED", run.cause
    assert json.loads(sized.sns_messages()[-1]) == {"blob": "x" * blob}


def test_a_state_output_over_256_kib_fails_the_execution_although_each_part_fits(sized):
    # Neither the event nor the function's result is over the limit; the state output (both) is.
    event = {**MATCHING, "detail": {**MATCHING["detail"], "size": 140_000, "pad": "y" * 130_000}}

    [run] = sized.put_event(event)

    assert (run.status, run.error) == ("FAILED", "States.DataLimitExceeded")
    assert run.entered_states == ["Work"]


def test_state_data_is_measured_as_compact_json_as_step_functions_holds_it():
    # 21,000 small keys: about 231 KB compact, over 256 KiB if measured with json.dumps' spaces.
    detail = {"items": [{"kind": "match"}], **{f"k{index:05d}": 1 for index in range(21_000)}}
    event = {**MATCHING, "detail": detail}
    assert (
        len(json.dumps(event).encode()) > STATE_PAYLOAD_BYTES > len(json.dumps(event, separators=(",", ":")))
    )

    with Sandbox(toy_render()) as sandbox:
        [run] = sandbox.put_event(event)

    assert run.status == "SUCCEEDED", run.cause


@pytest.mark.parametrize(("pad", "status"), [(132_000, "FAILED"), (130_000, "SUCCEEDED")])
def test_a_lambda_payload_over_256_kib_after_parameters_fails_before_the_function_runs(pad, status):
    # The state's input holds the pad once; Parameters sends it twice.
    rendered = toy_render(
        handler="tests.e2e.toy_handlers.count", work_payload="States.Array($.detail.pad, $.detail.pad)"
    )
    with Sandbox(rendered) as sandbox:
        [run] = sandbox.put_event({**MATCHING, "detail": {**MATCHING["detail"], "pad": "p" * pad}})

        assert run.status == status, run.cause
        if status == "FAILED":
            assert run.error == "States.DataLimitExceeded"
            assert sandbox.lambdas.invocations == []
        else:
            assert run.output["work"]["value"] == {"items": 2}


def test_an_execution_input_over_256_kib_is_refused_and_one_at_the_limit_starts(sized):
    machine = sized.response_state_machine.arn
    sfn = sized.client("stepfunctions")
    at_limit = json.dumps({"pad": "é" * ((STATE_PAYLOAD_BYTES - 11) // 2)}, ensure_ascii=False)
    over = json.dumps({"pad": "é" * (STATE_PAYLOAD_BYTES // 2)}, ensure_ascii=False)

    with pytest.raises(ClientError, match="InvalidExecutionInput"):
        sfn.start_execution(stateMachineArn=machine, input=over)
    started = sfn.start_execution(stateMachineArn=machine, input=at_limit)

    assert len(at_limit.encode()) <= STATE_PAYLOAD_BYTES
    assert started["executionArn"]


# --- SNS and EventBridge ---------------------------------------------------------------------------


def test_sns_refuses_a_message_over_256_kb_counted_in_utf8_bytes():
    with Sandbox(toy_render()) as sandbox:
        sns = sandbox.client("sns")
        topic = sandbox.topic_arn
        over = "é" * (SNS_MESSAGE_BYTES // 2) + "x"  # 131,073 characters, 262,145 bytes

        with pytest.raises(ClientError, match="Message too long"):
            sns.publish(TopicArn=topic, Message=over)
        sns.publish(TopicArn=topic, Message="é" * (SNS_MESSAGE_BYTES // 2))

        assert len(sandbox.sns_messages()[-1].encode()) == SNS_MESSAGE_BYTES


def _event_of_size(total: int) -> dict[str, Any]:
    """An event no rule matches (the bus's limit alone), ``total`` bytes as a PutEvents entry."""
    event = {**MATCHING, "source": "elsewhere", "detail": {**MATCHING["detail"], "pad": ""}}
    event["detail"]["pad"] = "z" * (total - event_entry_size(event))
    return event


def test_an_event_over_256_kb_cannot_be_delivered_and_one_at_the_limit_is(sized):
    with pytest.raises(EventTooLarge, match=rf"{EVENT_ENTRY_BYTES + 1} bytes as a PutEvents entry"):
        sized.deliver(_event_of_size(EVENT_ENTRY_BYTES + 1))

    delivery = sized.deliver(_event_of_size(EVENT_ENTRY_BYTES))

    assert (delivery.matched_rules, delivery.executions) == ([], [])


def test_an_event_at_the_bus_limit_is_too_large_to_start_a_workflow_with_its_envelope(sized):
    # The target receives the whole event (id, account, time... around it): over the 256 KiB input.
    event = {**_event_of_size(EVENT_ENTRY_BYTES), "source": "toy"}

    with pytest.raises(ClientError, match="InvalidExecutionInput"):
        sized.deliver(event)


# --- aws:lambda/invocation:Invocation ----------------------------------------------------------------


def _invocation(payload: dict[str, Any]) -> ToyResource:
    return ToyResource(
        "aws:lambda/invocation:Invocation",
        "toy-invocation",
        {"functionName": "toy-fn", "input": json.dumps(payload)},
    )


def test_an_invocation_runs_the_function_with_its_input_after_the_deployment():
    with Sandbox(toy_render(extra=(_invocation({"tick": True}),))) as sandbox:
        (result,) = sandbox.inventory.invocations.values()

        assert (result["tick"], result["function"], result["table"]) == (True, "toy-fn", "toy-table")
        assert [call.function for call in sandbox.lambdas.invocations] == ["toy-fn"]


def test_an_invocation_whose_function_raises_fails_the_deployment():
    failing = _invocation({"detail": {"fail": True}})

    with pytest.raises(
        InvocationFailed, match=r"toy-invocation: Lambda function 'toy-fn' returned an error: ToyFailure"
    ):
        Sandbox(toy_render(extra=(failing,))).start()
