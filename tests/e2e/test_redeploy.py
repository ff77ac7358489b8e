"""A capacity change as two deployments of one stack: the firewall never enforces a group without the
ledger's hosts, and the repopulation outlasts IAM's propagation delay (issue 17, item 4)."""

import json

import pytest

from nfw_blocklist.render import render_stack
from nfw_blocklist.sandbox import Sandbox
from tests.e2e.conftest import SAMPLES

HOST = "198.51.100.0/32"
DOMAIN = "guarddutyc2activityb.com"
OWN_POLICY = {"createFirewallPolicy": "true"}


def test_a_capacity_change_moves_the_policy_only_to_a_group_that_holds_every_blocked_host(reference_event):
    with Sandbox(render_stack("dev", OWN_POLICY)) as sandbox:
        [run] = sandbox.put_event(reference_event)
        assert run.status == "SUCCEEDED", run.output
        old_group = sandbox.rule_group_arn

        report = sandbox.update(
            render_stack("dev", {**OWN_POLICY, "ruleGroupCapacity": "4000"}), denied_calls=2
        )

        enforced = [(o.step, o.enforced_group, o.missing_hosts) for o in report.observations]
        assert [entry for entry in enforced if entry[2]] == [], "the firewall enforced a group missing hosts"
        new_group = sandbox.rule_group_arn
        assert new_group != old_group
        assert enforced[-1][1] == new_group, "the policy ends on the new group"
        assert HOST in json.dumps(sandbox.describe_rule_group()["RuleGroup"]["RulesSource"])
        assert report.denied_calls == 2, "the repopulation met IAM's propagation delay and retried"
        assert any(step.startswith("delete ") and "ruleGroup:RuleGroup" in step for step in report.steps)


def test_a_new_rule_order_replaces_the_domain_group_and_the_policy_follows_with_the_domains():
    with Sandbox(render_stack("dev", {**OWN_POLICY, "findingSource": "both"})) as sandbox:
        [run] = sandbox.put_event(json.loads((SAMPLES / "guardduty-native-dns-c2.json").read_text()))
        assert run.status == "SUCCEEDED", run.output
        strict_group = sandbox.domain_rule_group_arn

        sandbox.update(
            render_stack(
                "dev", {**OWN_POLICY, "findingSource": "both", "statefulRuleOrder": "DEFAULT_ACTION_ORDER"}
            )
        )

        policy = sandbox.describe_firewall_policy()["FirewallPolicy"]
        [reference] = policy["StatefulRuleGroupReferences"]
        assert policy["StatefulEngineOptions"]["RuleOrder"] == "DEFAULT_ACTION_ORDER"
        assert reference["ResourceArn"] != strict_group
        group = sandbox.client("network-firewall").describe_rule_group(
            RuleGroupArn=reference["ResourceArn"], Type="STATEFUL"
        )["RuleGroup"]
        assert (
            group.get("StatefulRuleOptions", {}).get("RuleOrder", "DEFAULT_ACTION_ORDER")
            == "DEFAULT_ACTION_ORDER"
        )
        assert DOMAIN in group["RulesSource"]["RulesSourceList"]["Targets"], "the repopulation restored it"
        with pytest.raises(sandbox.client("network-firewall").exceptions.ResourceNotFoundException):
            sandbox.client("network-firewall").describe_rule_group(RuleGroupArn=strict_group)
