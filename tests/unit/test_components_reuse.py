"""The components in someone else's program (tests/reuse): it imports them and renders under the mocks."""

from collections import Counter
from pathlib import Path

import pytest

from nfw_blocklist.render import render_stack

REUSE = Path(__file__).resolve().parents[1] / "reuse"


@pytest.fixture(scope="module")
def reuse():
    return render_stack("test", project_dir=REUSE)


def test_reusing_program_renders_all_three_components_under_its_own_names(reuse):
    components = {r.name for r in reuse.resources if r.type.startswith("nfw-blocklist:index:")}
    assert components == {"edge"}
    assert Counter(r.type for r in reuse.resources if r.type.startswith("nfw-blocklist:")) == Counter(
        {
            "nfw-blocklist:index:BlocklistRuleGroup": 1,
            "nfw-blocklist:index:ResponseStateMachine": 1,
            "nfw-blocklist:index:PruningSchedule": 1,
        }
    )


def test_children_are_named_from_the_component_name(reuse):
    for resource in reuse.resources:
        assert resource.name.startswith("edge"), resource.urn


def test_arguments_reach_the_children(reuse):
    (group,) = reuse.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
    (schedule,) = reuse.of_type("aws:scheduler/schedule:Schedule")
    assert (group.inputs["capacity"], group.inputs["name"]) == (500, "edge")
    assert schedule.inputs["scheduleExpression"] == "rate(5 minutes)"
    assert len(reuse.of_type("aws:cloudwatch/eventRule:EventRule")) == 2
    assert len(reuse.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")) == 1


def test_tags_reach_every_taggable_child(reuse):
    for resource in reuse.of_type("aws:lambda/function:Function") + reuse.of_type("aws:iam/role:Role"):
        assert resource.inputs["tags"] == {"team": "netops"}, resource.urn
