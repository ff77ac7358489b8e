"""The sandbox machinery on a hand-built toy render: a failure here is the sandbox's, not the program's."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from nfw_blocklist.sandbox import HandlerImportError, Sandbox, WiringError
from tests.e2e.toy_stack import toy_render

MATCHING: dict[str, Any] = {
    "id": "e-1",
    "source": "toy",
    "detail-type": "t",
    "detail": {"items": [{"kind": "other"}, {"kind": "match"}]},
}


@pytest.fixture
def toy():
    with Sandbox(toy_render()) as sandbox:
        yield sandbox


def test_a_pattern_over_an_array_of_objects_matches_and_starts_the_target(toy):
    [result] = toy.put_event(MATCHING)

    assert result.status == "SUCCEEDED"
    assert result.entered_states == ["Work", "Notify"]


def test_the_handler_runs_in_process_with_its_recorded_environment_and_the_sandbox_clock(toy):
    [result] = toy.put_event(MATCHING)

    assert result.output["work"]["value"] == {
        "greeting": "hello",
        "table": "toy-table",
        "now": toy.clock.now(),
        "function": "toy-fn",
        "tick": False,
    }


def test_a_raised_exception_reaches_the_state_machine_under_its_class_name(toy):
    failing = {**MATCHING, "detail": {**MATCHING["detail"], "fail": True}}

    [result] = toy.put_event(failing)

    assert result.status == "FAILED"
    assert result.entered_states == ["Work", "NotifyFailure", "Failed"]
    assert toy.notifications()[-1]["Error"] == "ToyFailure"


def test_an_event_no_pattern_matches_starts_nothing(toy):
    delivery = toy.deliver({"id": "e-2", "source": "toy", "detail": {"items": [{"kind": "other"}]}})

    assert delivery.matched_rules == []
    assert delivery.executions == []


def test_schedules_fire_when_the_clock_passes_them_and_missed_runs_coalesce(toy):
    assert toy.advance(14 * 60) == []

    runs = toy.advance(13 * 3600)

    assert [run.status for run in runs] == ["SUCCEEDED"]
    assert runs[0].input == {"tick": True}
    assert toy.advance(30) == [], "the schedule keeps its 15-minute phase: the next run is 60 s away"


def test_the_rule_group_is_created_from_the_pulumi_input_shape(toy):
    rules = toy.describe_rule_group()["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"][
        "StatelessRules"
    ]

    assert rules == [
        {
            "Priority": 10,
            "RuleDefinition": {
                "Actions": ["aws:drop"],
                "MatchAttributes": {"Sources": [{"AddressDefinition": "192.0.2.1/32"}]},
            },
        }
    ]


def test_a_definition_calling_an_undeclared_function_fails_the_deployment():
    dangling = "arn:aws:lambda:us-east-1:123456789012:function:not-declared"

    with pytest.raises(WiringError, match=r"not-declared.*which this program does not create"):
        Sandbox(toy_render(function_override=dangling)).start()


def test_a_handler_string_that_does_not_import_fails_the_deployment():
    with pytest.raises(WiringError, match="no_such_handler") as raised:
        Sandbox(toy_render(handler="tests.e2e.toy_handlers.no_such_handler")).start()

    assert isinstance(raised.value.__cause__, HandlerImportError)


def test_an_execution_builds_its_workflow_from_the_parse_tree_kept_at_create_time(toy, monkeypatch):
    """moto's engine parses a definition (pure-Python ANTLR) at create and at every execution; the
    sandbox keeps the tree, and each execution still gets evaluation components of its own."""
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser

    parses = []
    original = ASLParser.state_machine
    monkeypatch.setattr(ASLParser, "state_machine", lambda parser: parses.append(1) or original(parser))

    first, second = toy.put_event(MATCHING) + toy.put_event(MATCHING)

    assert parses == []
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert first.entered_states == second.entered_states == ["Work", "Notify"]


def test_a_definition_that_does_not_parse_is_refused_at_every_attempt(toy):
    role = next(iter(toy.inventory.roles))
    for attempt in range(2):
        with pytest.raises(ClientError, match=r"InvalidDefinition.*ASLParserException"):
            toy.client("stepfunctions").create_state_machine(
                name=f"broken-{attempt}",
                definition='{"StartAt": "A", "States": {"A": {"Type": "Nope"}}}',
                roleArn=role,
            )


def test_the_sandbox_loads_none_of_the_machine_images_it_never_uses(toy):
    """moto would load ~2,700 default AMIs into every EC2 backend at each start and stop."""
    assert toy.client("ec2").describe_images(Owners=["amazon"])["Images"] == []


def test_the_end_of_an_execution_wakes_the_sandbox_waiting_for_it(toy, monkeypatch):
    """Not a poll: with the fallback look every 30 s, an execution still returns as soon as it ends."""
    import time

    from nfw_blocklist.sandbox import core

    monkeypatch.setattr(core, "WAIT_FALLBACK_SECONDS", 30.0)
    began = time.monotonic()

    [result] = toy.put_event(MATCHING)

    assert result.status == "SUCCEEDED"
    assert time.monotonic() - began < 15
