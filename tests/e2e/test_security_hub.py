"""Security Hub annotation and the loop guard, through the real workflows in the sandbox.

The sandbox's Security Hub holds each replayed finding, answers BatchUpdateFindings as AWS does and puts
the follow-up "Security Hub Findings - Imported" event on the sandbox's bus, where the program's own
rule sees it: so the echo of every annotation really reaches the workflow here.
"""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from nfw_blocklist.emulator import securityhub as emulated
from nfw_blocklist.findings import native_finding, provider_update
from nfw_blocklist.render import render_stack
from nfw_blocklist.sandbox import Sandbox
from nfw_blocklist.sandbox.securityhub import finding_update_views
from tests.e2e.conftest import break_function

HOST = "198.51.100.0/32"
HOUR = 3600


def updates(sandbox: Sandbox) -> list[dict[str, Any]]:
    return finding_update_views(sandbox.security_hub.calls())


def held(sandbox: Sandbox) -> dict[str, Any]:
    """The finding as the sandbox's Security Hub holds it."""
    (finding,) = sandbox.client("securityhub").get_findings()["Findings"]
    return dict(finding)


def expiry(sandbox: Sandbox) -> float:
    (item,) = [item for item in sandbox.ledger_items() if item["HostIp"] == HOST]
    return float(item["ExpiresAt"])


def wrote(executions: list[Any]) -> list[Any]:
    """Executions whose block step wrote the rule group."""
    return [run for run in executions if (run.task_output("block") or {}).get("updates", 0) > 0]


@pytest.fixture
def sandbox_with(tmp_path: Any) -> Iterator[Any]:
    """Deploy the dev stack with config overrides (``-c``), or a changed render."""
    opened: list[Sandbox] = []

    def deploy(overrides: dict[str, str] | None = None, rendered: Any = None) -> Sandbox:
        sandbox = Sandbox(rendered or render_stack("dev", overrides))
        sandbox.start()
        opened.append(sandbox)
        return sandbox

    yield deploy
    for sandbox in opened:
        sandbox.stop()


def test_a_replayed_finding_is_annotated_once_and_its_echo_writes_and_notifies_nothing(
    dev_sandbox, reference_event
):
    delivery = dev_sandbox.deliver(reference_event)

    [run] = delivery.executions
    assert run.entered_states == [
        "RecordHosts", "AnythingToBlock", "BlockHosts", "ShouldAnnotate", "AnnotateFinding",
        "AnyNewlyBlocked", "NotifySuccess", "AnyTargetNotBlocked", "Blocked",
    ]  # fmt: skip
    assert run.output["annotation"]["status"] == "annotated"
    [update] = updates(dev_sandbox)
    assert update["status"] == "processed"
    assert update["note"].startswith(f"nfw-blocklist blocked 1 host: {HOST} in rule group nfw-blocklist-")
    assert update["workflow_status"] == "NOTIFIED"
    # The echo: no event pattern can tell it from a provider update (docs/DESIGN.md), so it starts one
    # execution, which the record step ends without writing anything.
    [echo] = delivery.follow_ups
    [echo_run] = echo.executions
    assert echo.event["detail"]["findings"][0]["Note"]["Text"] == update["note"]
    assert echo_run.entered_states == ["RecordHosts", "AnythingToBlock", "NothingToBlock"]
    assert echo_run.task_output("record")["skipped"][0]["reason"] == "own-update"
    assert echo.follow_ups == []
    assert len(wrote(dev_sandbox.executions)) == 1
    assert len(dev_sandbox.notifications()) == 1
    finding = held(dev_sandbox)
    assert (finding["Workflow"]["Status"], finding["UpdatedAt"]) == ("NOTIFIED", "2021-01-05T01:15:01.549Z")
    assert finding["UserDefinedFields"]["nfw-blocklist:hosts"] == HOST


def test_a_genuine_resighting_refreshes_the_retention_and_is_annotated_again(dev_sandbox, reference_event):
    dev_sandbox.deliver(reference_event)
    first_expiry = expiry(dev_sandbox)
    dev_sandbox.clock.advance(HOUR)

    delivery = dev_sandbox.deliver(provider_update(reference_event, "2021-01-05T02:30:00Z"))

    [run] = delivery.executions
    assert run.task_output("block")["refreshed"] == [HOST]
    assert "AnnotateFinding" in run.entered_states
    assert expiry(dev_sandbox) == pytest.approx(first_expiry + HOUR, abs=1)
    assert [update["status"] for update in updates(dev_sandbox)] == ["processed", "processed"]
    [echo] = delivery.follow_ups
    assert echo.executions[0].entered_states[-1] == "NothingToBlock"
    assert len(dev_sandbox.notifications()) == 1


def test_a_host_its_missing_rule_group_could_not_take_is_noted_as_not_blocked_there(
    dev_sandbox, reference_event
):
    dev_sandbox.client("network-firewall").delete_rule_group(RuleGroupArn=dev_sandbox.rule_group_arn)

    delivery = dev_sandbox.deliver(reference_event)

    [run] = delivery.executions
    assert run.status == "FAILED"
    assert "AnnotateFinding" in run.entered_states
    [update] = updates(dev_sandbox)
    assert update["note"].startswith(
        f"nfw-blocklist could NOT block 1 host: {HOST} in rule group nfw-blocklist-"
    )
    assert "RuleGroupNotFound: " in update["note"]
    assert update["user_defined_fields"]["nfw-blocklist:status"] == "block-failed"
    assert update["workflow_status"] is None
    assert dev_sandbox.notifications()[-1]["NotBlocked"][0]["Error"] == "RuleGroupNotFound"
    [echo] = delivery.follow_ups
    assert echo.executions[0].entered_states == ["RecordHosts", "AnythingToBlock", "NothingToBlock"]


def test_a_failed_block_step_writes_a_note_saying_it_failed_and_why(dev_sandbox, reference_event):
    break_function(dev_sandbox, "block")

    delivery = dev_sandbox.deliver(reference_event)

    [run] = delivery.executions
    assert run.status == "FAILED"
    assert run.entered_states[-10:-6] == [
        "ShouldAnnotateFailure", "AnnotateFailure", "BlockFailed", "DescribeBlockFailure"
    ]  # fmt: skip
    [update] = updates(dev_sandbox)
    assert update["note"].startswith(
        f"nfw-blocklist could not block 1 host: {HOST} in rule group nfw-blocklist-"
    )
    assert "ConfigurationError: " in update["note"]
    assert update["user_defined_fields"]["nfw-blocklist:status"] == "block-failed"
    assert update["workflow_status"] is None
    assert dev_sandbox.notifications()[-1]["Error"] == "ConfigurationError"
    [echo] = delivery.follow_ups
    assert echo.executions[0].entered_states == ["RecordHosts", "AnythingToBlock", "NothingToBlock"]


def test_a_native_failure_skips_the_annotation_on_its_way_to_the_failure_notification(sandbox_with):
    sandbox = sandbox_with({"findingSource": "both"})
    break_function(sandbox, "block")

    [run] = sandbox.put_event(native_finding("203.0.113.77"))

    assert run.entered_states[-10:-5] == [
        "BlockHosts", "ShouldAnnotateFailure", "BlockFailed", "DescribeBlockFailure", "CauseFromLambda"
    ]  # fmt: skip
    assert run.entered_states[-1] == "Failed"
    assert updates(sandbox) == []


def test_findings_still_being_updated_by_the_provider_are_retried_until_annotated(
    dev_sandbox, reference_event
):
    emulated.finding_updates(dev_sandbox.region).concurrent_update_next = 2

    [run] = dev_sandbox.put_event(reference_event)

    assert (run.output["annotation"]["status"], run.output["annotation"]["attempts"]) == ("annotated", 3)
    assert [update["status"] for update in updates(dev_sandbox)] == [
        "ConcurrentUpdateError", "ConcurrentUpdateError", "processed"
    ]  # fmt: skip


def test_an_annotation_that_keeps_failing_leaves_the_block_in_place_and_is_reported(
    dev_sandbox, reference_event
):
    emulated.finding_updates(dev_sandbox.region).concurrent_update_next = 1000

    delivery = dev_sandbox.deliver(reference_event)

    [run] = delivery.executions
    assert run.status == "SUCCEEDED"
    assert run.entered_states[-4:] == ["AnyNewlyBlocked", "NotifySuccess", "AnyTargetNotBlocked", "Blocked"]
    annotation = run.output["annotation"]
    assert annotation["status"] == "failed"
    assert annotation["unprocessed"][0]["code"] == "ConcurrentUpdateError"
    assert HOST in str(dev_sandbox.describe_rule_group()["RuleGroup"])
    assert dev_sandbox.notifications()[-1]["Blocked"] == "true"
    assert delivery.follow_ups == []  # nothing was updated, so Security Hub sent nothing


def test_workflow_status_none_leaves_the_findings_workflow_alone(sandbox_with, reference_event):
    sandbox = sandbox_with({"findingWorkflowStatus": "NONE"})

    sandbox.deliver(reference_event)

    [update] = updates(sandbox)
    assert (update["status"], update["workflow_status"]) == ("processed", None)
    assert held(sandbox)["Workflow"]["Status"] == "NEW"


def test_workflow_status_resolved_resolves_it_and_a_later_sighting_still_refreshes(
    sandbox_with, reference_event
):
    sandbox = sandbox_with({"findingWorkflowStatus": "RESOLVED"})
    sandbox.deliver(reference_event)
    assert held(sandbox)["Workflow"]["Status"] == "RESOLVED"
    sandbox.clock.advance(HOUR)

    [run] = sandbox.put_event(provider_update(reference_event, "2021-01-05T02:30:00Z"))

    # The event carries the finding as Security Hub holds it: RESOLVED, by the tool itself.
    assert run.input["detail"]["findings"][0]["Workflow"]["Status"] == "RESOLVED"
    assert run.task_output("block")["refreshed"] == [HOST]
    assert [update["workflow_status"] for update in updates(sandbox)] == ["RESOLVED", "RESOLVED"]


def test_an_analysts_resolution_is_still_respected(dev_sandbox, reference_event):
    dev_sandbox.deliver(reference_event)
    finding = held(dev_sandbox)
    dev_sandbox.client("securityhub").batch_update_findings(
        FindingIdentifiers=[{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}],
        Workflow={"Status": "RESOLVED"},
    )
    dev_sandbox.deliver(dev_sandbox.security_hub.follow_ups()[0])

    [run] = dev_sandbox.put_event(provider_update(reference_event, "2021-01-05T02:30:00Z"))

    assert run.task_output("record")["skipped"][0]["reason"] == "suppressed"


def _move_permission(rendered: Any, to_role: str | None) -> Any:
    """The render with securityhub:BatchUpdateFindings taken from the annotate role (and given to another)."""
    roles = {role.id: role.name for role in rendered.of_type("aws:iam/role:Role")}
    moved: list[dict[str, Any]] = []
    resources = []
    for resource in rendered.resources:
        if resource.type == "aws:iam/rolePolicy:RolePolicy" and roles.get(resource.inputs["role"]) == (
            "nfw-blocklist-annotate-role"
        ):
            document = json.loads(resource.inputs["policy"])
            moved = [s for s in document["Statement"] if s["Sid"] == "AnnotateFindings"]
            document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "AnnotateFindings"]
            resource = dataclasses.replace(
                resource, inputs={**resource.inputs, "policy": json.dumps(document)}
            )
        resources.append(resource)
    assert moved, "the annotate role grants BatchUpdateFindings in the render"
    if to_role is not None:
        for index, resource in enumerate(resources):
            if (
                resource.type == "aws:iam/rolePolicy:RolePolicy"
                and roles.get(resource.inputs["role"]) == to_role
            ):
                document = json.loads(resource.inputs["policy"])
                document["Statement"].extend(moved)
                resources[index] = dataclasses.replace(
                    resource, inputs={**resource.inputs, "policy": json.dumps(document)}
                )
    return dataclasses.replace(rendered, resources=resources)


@pytest.mark.parametrize("given_to", [None, "nfw-blocklist-block-role"])
def test_the_annotation_is_refused_when_its_function_lacks_the_permission(
    sandbox_with, dev_render, reference_event, given_to
):
    sandbox = sandbox_with(rendered=_move_permission(dev_render, given_to))

    [run] = sandbox.put_event(reference_event)

    assert run.status == "SUCCEEDED"
    assert run.output["annotation"]["status"] == "failed"
    assert "AccessDeniedException" in run.output["annotation"]["error"]
    assert "securityhub:BatchUpdateFindings" in sandbox.security_hub.refusals[0]
    assert updates(sandbox) == []


def test_native_guardduty_findings_are_not_annotated(sandbox_with):
    sandbox = sandbox_with({"findingSource": "both"})

    [run] = sandbox.put_event(native_finding("203.0.113.77"))

    assert run.task_output("block")["blocked"] == ["203.0.113.77/32"]
    assert "AnnotateFinding" not in run.entered_states
    assert run.entered_states[3] == "ShouldAnnotate"
    assert updates(sandbox) == []


def test_a_stack_of_native_findings_alone_has_no_annotate_function(sandbox_with):
    sandbox = sandbox_with({"findingSource": "guardduty"})

    assert not [spec for spec in sandbox.inventory.functions.values() if spec.handler.endswith(".annotate")]
    assert "ShouldAnnotate" not in sandbox.response_state_machine.states


def test_replaying_the_finding_shows_its_annotation(run_cli, sample):
    result = run_cli("replay", sample("securityhub-guardduty-c2-finding.json"))

    assert result.status == 0, result.err
    assert (
        f"-> NOTIFIED: nfw-blocklist blocked 1 host: {HOST} in rule group nfw-blocklist-rules-3098a1b "
        "until 2021-01-05 13:25 UTC"
    ) in result.out
    assert "(after BatchUpdateFindings): SUCCEEDED, skipped: own-update" in result.out


def test_annotating_native_findings_is_a_configuration_error(run_cli, sample):
    result = run_cli(
        "replay",
        "-c",
        "findingSource=guardduty",
        "-c",
        "updateFindings=true",
        sample("guardduty-native-ipv4.json"),
    )

    assert result.status == 2
    assert result.err.count("\n") == 1
    assert "updateFindings needs Security Hub findings" in result.err


def test_with_update_findings_off_nothing_is_annotated_and_the_workflow_has_no_annotation_state(
    sandbox_with, reference_event
):
    sandbox = sandbox_with({"updateFindings": "false"})

    [run] = sandbox.put_event(reference_event)

    assert run.task_output("block")["blocked"] == [HOST]
    assert "ShouldAnnotate" not in sandbox.response_state_machine.states
    assert updates(sandbox) == []


HOSTILE_UPDATED_AT = {
    "missing": None,
    "unparsable": "yesterday, roughly",
    "far-future": "9999-12-31T23:59:59Z",
    "ahead-of-the-clock": "2099-01-01T00:00:00Z",
    "not-text": 1609809301,
}


@pytest.mark.parametrize("updated_at", HOSTILE_UPDATED_AT.values(), ids=HOSTILE_UPDATED_AT.keys())
def test_the_loop_ends_after_one_echo_whatever_the_findings_updated_at(
    dev_sandbox, reference_event, updated_at
):
    finding = reference_event["detail"]["findings"][0]
    if updated_at is None:
        del finding["UpdatedAt"]
    else:
        finding["UpdatedAt"] = updated_at

    delivery = dev_sandbox.deliver(reference_event)

    [update] = updates(dev_sandbox)
    assert update["status"] == "processed"
    [echo] = delivery.follow_ups
    assert echo.executions[0].task_output("record")["skipped"][0]["reason"] == "own-update"
    assert echo.follow_ups == []
    assert len(wrote(dev_sandbox.executions)) == 1


def test_a_resighting_without_a_readable_updated_at_is_still_a_sighting(dev_sandbox, reference_event):
    finding = reference_event["detail"]["findings"][0]
    del finding["UpdatedAt"]
    dev_sandbox.deliver(reference_event)
    resighted = json.loads(json.dumps(reference_event))
    resighted["id"] = "a-later-event"
    resighted["detail"]["findings"][0]["LastObservedAt"] = "2021-01-05T02:30:00.000Z"

    delivery = dev_sandbox.deliver(resighted)

    assert delivery.executions[0].task_output("block")["refreshed"] == [HOST]
    assert [update["status"] for update in updates(dev_sandbox)] == ["processed", "processed"]
    [echo] = delivery.follow_ups
    assert echo.executions[0].task_output("record")["skipped"][0]["reason"] == "own-update"


def test_a_finding_with_47_other_fields_is_annotated_within_the_three_left(dev_sandbox, reference_event):
    others = {f"team:field-{n}": "x" for n in range(47)}
    reference_event["detail"]["findings"][0]["UserDefinedFields"] = others

    delivery = dev_sandbox.deliver(reference_event)

    [update] = updates(dev_sandbox)
    assert update["status"] == "processed"
    assert update["note"].startswith(f"nfw-blocklist blocked 1 host: {HOST} in rule group ")
    fields = held(dev_sandbox)["UserDefinedFields"]
    assert len(fields) == 50
    assert fields["nfw-blocklist:status"] == "blocked"
    assert delivery.executions[0].output["annotation"]["fields_left_out"] == 2
    [echo] = delivery.follow_ups
    assert echo.follow_ups == []
