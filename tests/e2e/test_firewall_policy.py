"""The program's own firewall policy (createFirewallPolicy) in the sandbox: Network Firewall's emulator
holds it to what AWS holds a policy to, above all that its stateful groups share its rule order."""

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from nfw_blocklist.render import render_stack
from nfw_blocklist.sandbox import Sandbox, WiringError
from tests.e2e.conftest import SAMPLES

DOMAIN = "guarddutyc2activityb.com"
OWN_POLICY = {"createFirewallPolicy": "true", "findingSource": "both"}


@pytest.fixture(scope="module")
def strict_render() -> Any:
    return render_stack("dev", OWN_POLICY)


@pytest.fixture
def strict_sandbox(strict_render: Any) -> Iterator[Sandbox]:
    with Sandbox(strict_render) as sandbox:
        yield sandbox


def test_a_strict_order_stack_deploys_its_policy_and_blocks_a_domain_through_it(
    strict_sandbox: Sandbox,
) -> None:
    policy = strict_sandbox.describe_firewall_policy()["FirewallPolicy"]
    domain_group = strict_sandbox.domain_rule_group_arn

    assert policy["StatefulEngineOptions"]["RuleOrder"] == "STRICT_ORDER"
    assert policy["StatefulRuleGroupReferences"] == [{"ResourceArn": domain_group, "Priority": 100}]
    assert policy["StatelessRuleGroupReferences"] == [
        {"ResourceArn": strict_sandbox.rule_group_arn, "Priority": 100}
    ]
    [run] = strict_sandbox.put_event(json.loads((SAMPLES / "guardduty-native-dns-c2.json").read_text()))
    assert run.status == "SUCCEEDED", run.output
    described = strict_sandbox.client("network-firewall").describe_rule_group(
        RuleGroupArn=domain_group, Type="STATEFUL"
    )
    # The block function kept the group's order as it wrote the domain (AWS refuses to change it).
    assert described["RuleGroup"]["StatefulRuleOptions"] == {"RuleOrder": "STRICT_ORDER"}
    assert DOMAIN in described["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]


def test_a_default_order_stack_deploys_its_policy_without_stateful_priorities() -> None:
    with Sandbox(render_stack("dev", {**OWN_POLICY, "statefulRuleOrder": "DEFAULT_ACTION_ORDER"})) as sandbox:
        policy = sandbox.describe_firewall_policy()["FirewallPolicy"]

    assert policy["StatefulEngineOptions"]["RuleOrder"] == "DEFAULT_ACTION_ORDER"
    assert [sorted(reference) for reference in policy["StatefulRuleGroupReferences"]] == [["ResourceArn"]]


def test_a_domain_group_whose_order_is_not_the_policys_is_refused_at_deployment(strict_render: Any) -> None:
    # GIVEN the domain group as the program created it before the order could be chosen: no options
    tampered = copy.deepcopy(strict_render)
    for resource in tampered.of_type("aws:networkfirewall/ruleGroup:RuleGroup"):
        resource.inputs["ruleGroup"].pop("statefulRuleOptions", None)

    with pytest.raises(
        WiringError, match="InvalidRequestException: Rule group's rule order DEFAULT_ACTION_ORDER"
    ):
        Sandbox(tampered).start()
