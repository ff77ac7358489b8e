"""The sandbox machinery on a hand-built toy render: a failure here is the sandbox's, not the program's."""

from typing import Any

import pytest

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
