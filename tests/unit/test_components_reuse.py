"""The components in someone else's program (tests/reuse): it imports them and renders under the mocks."""

import json
from collections import Counter
from pathlib import Path

import pytest

from components import iam
from nfw_blocklist.render import render_stack

REUSE = Path(__file__).resolve().parents[1] / "reuse"
COMPONENT_TYPES = (
    "nfw-blocklist:index:BlocklistRuleGroup",
    "nfw-blocklist:index:ResponseStateMachine",
    "nfw-blocklist:index:PruningSchedule",
)


@pytest.fixture(scope="module")
def reuse():
    return render_stack("test", project_dir=REUSE)


def test_reusing_program_renders_two_instances_of_all_three_components_under_its_own_names(reuse):
    components = Counter(r.name for r in reuse.resources if r.type.startswith("nfw-blocklist:index:"))
    assert components == {"edge": 3, "core": 3}
    assert Counter(r.type for r in reuse.resources if r.type.startswith("nfw-blocklist:")) == Counter(
        dict.fromkeys(COMPONENT_TYPES, 2)
    )


def test_children_are_named_from_their_component_name(reuse):
    parents = {r.urn: r.name for r in reuse.resources if r.type.startswith("nfw-blocklist:index:")}
    for resource in reuse.resources:
        owner = parents.get(resource.parent or "", resource.name)
        assert resource.name.startswith(f"{owner}-") or resource.name == owner, resource.urn


def test_arguments_reach_the_children(reuse):
    groups = {g.name: g for g in reuse.of_type("aws:networkfirewall/ruleGroup:RuleGroup")}
    schedules = {s.name: s for s in reuse.of_type("aws:scheduler/schedule:Schedule")}
    assert (groups["edge-rules"].inputs["capacity"], groups["core-rules"].inputs["capacity"]) == (500, 1000)
    assert schedules["edge-schedule"].inputs["scheduleExpression"] == "rate(5 minutes)"
    assert schedules["core-schedule"].inputs["scheduleExpression"] == "rate(15 minutes)"
    assert sorted(r.name for r in reuse.of_type("aws:cloudwatch/eventRule:EventRule")) == [
        "core-guardduty",
        "edge-actions",  # findingSource reads Security Hub: its archive and custom actions too
        "edge-archived",
        "edge-guardduty",
        "edge-securityhub",
    ]
    (policy,) = reuse.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    assert policy.name == "edge-policy"


def test_each_instance_repopulates_its_own_group_at_its_own_priority(reuse):
    invocations = {i.name: i for i in reuse.of_type("aws:lambda/invocation:Invocation")}
    assert set(invocations) == {"edge-repopulate", "core-repopulate"}
    for name, priority in (("edge", "100"), ("core", "200")):
        triggers = invocations[f"{name}-repopulate"].inputs["triggers"]
        assert triggers["ruleGroupArn"] == reuse.by_name(f"{name}-rules").state["arn"]
        assert triggers["rulePriority"] == priority
        assert (
            invocations[f"{name}-repopulate"].inputs["functionName"]
            == reuse.by_name(f"{name}-prune").state["name"]
        )


def test_tracing_lets_each_workflow_role_send_traces_and_only_then(reuse):
    policies = {
        p.name: json.loads(p.inputs["policy"]) for p in reuse.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    for workflow in ("core-response", "core-pruning", "edge-response", "edge-pruning"):
        machine = reuse.by_name(workflow)
        traced = machine.inputs["tracingConfiguration"]["enabled"]
        granted = {
            action
            for statement in policies[f"{workflow}-policy"]["Statement"]
            for action in statement["Action"]
            if action.startswith("xray:")
        }
        assert traced is workflow.startswith("core"), machine.urn
        assert granted == (set(iam.TRACING_ACTIONS) if traced else set()), machine.urn
    assert {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    } == iam.TRACING_ACTIONS


def test_tags_reach_every_taggable_child(reuse):
    for resource in reuse.of_type("aws:lambda/function:Function") + reuse.of_type("aws:iam/role:Role"):
        assert resource.inputs["tags"] == {"team": "netops"}, resource.urn
