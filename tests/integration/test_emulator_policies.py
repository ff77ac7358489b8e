"""The emulator's firewall policies refuse what Network Firewall refuses when a policy holds rule groups:
above all a stateful group whose rule order is not the policy's (issue 17, item 3)."""

from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.integration.test_emulator_stateful import create, domain_group

NO_RETRIES = Config(retries={"total_max_attempts": 1})
STATELESS_GROUP = {
    "RulesSource": {
        "StatelessRulesAndCustomActions": {
            "StatelessRules": [
                {
                    "Priority": 65535,
                    "RuleDefinition": {
                        "Actions": ["aws:forward_to_sfe"],
                        "MatchAttributes": {"Sources": [{"AddressDefinition": "192.0.2.0/32"}]},
                    },
                }
            ]
        }
    }
}


@pytest.fixture
def nfw(aws: object) -> Any:
    return boto3.client("network-firewall", config=NO_RETRIES)


def ordered(order: str | None) -> dict[str, Any]:
    group = domain_group(["evil.example"])
    if order is not None:
        group["StatefulRuleOptions"] = {"RuleOrder": order}
    return group


def policy(stateful_arn: str, order: str | None, priority: int | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"ResourceArn": stateful_arn}
    if priority is not None:
        reference["Priority"] = priority
    document: dict[str, Any] = {
        "StatelessDefaultActions": ["aws:forward_to_sfe"],
        "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
        "StatefulRuleGroupReferences": [reference],
    }
    if order is not None:
        document["StatefulEngineOptions"] = {"RuleOrder": order}
    return document


def group_arn(nfw: Any, order: str | None, name: str = "domains") -> str:
    return str(create(nfw, ordered(order), name=name)["RuleGroupResponse"]["RuleGroupArn"])


@pytest.mark.parametrize(
    ("group_order", "policy_order"),
    [(None, "STRICT_ORDER"), ("DEFAULT_ACTION_ORDER", "STRICT_ORDER"), ("STRICT_ORDER", None)],
)
def test_a_policy_refuses_a_stateful_group_of_another_rule_order(
    nfw: Any, group_order: str | None, policy_order: str | None
) -> None:
    arn = group_arn(nfw, group_order)
    priority = 100 if policy_order == "STRICT_ORDER" else None

    with pytest.raises(nfw.exceptions.InvalidRequestException, match=r"rule order .* does not match"):
        nfw.create_firewall_policy(FirewallPolicyName="p", FirewallPolicy=policy(arn, policy_order, priority))


def test_a_policy_takes_a_group_of_its_own_order_and_keeps_it_while_it_is_referenced(nfw: Any) -> None:
    arn = group_arn(nfw, "STRICT_ORDER")
    created = nfw.create_firewall_policy(
        FirewallPolicyName="p", FirewallPolicy=policy(arn, "STRICT_ORDER", priority=100)
    )
    described = nfw.describe_firewall_policy(
        FirewallPolicyArn=created["FirewallPolicyResponse"]["FirewallPolicyArn"]
    )

    assert described["FirewallPolicy"]["StatefulRuleGroupReferences"] == [
        {"ResourceArn": arn, "Priority": 100}
    ]
    with pytest.raises(nfw.exceptions.InvalidRequestException, match="still in use"):
        nfw.delete_rule_group(RuleGroupArn=arn)


def test_an_update_that_drops_a_groups_rule_order_is_refused(nfw: Any) -> None:
    arn = group_arn(nfw, "STRICT_ORDER")
    token = nfw.describe_rule_group(RuleGroupArn=arn)["UpdateToken"]

    with pytest.raises(nfw.exceptions.InvalidRequestException, match="parameter is invalid"):
        nfw.update_rule_group(RuleGroupArn=arn, UpdateToken=token, RuleGroup=ordered(None))


@pytest.mark.parametrize(
    ("order", "priority", "message"),
    [
        (None, 1, r"Priority cannot be provided, parameter: \[1\]"),
        ("STRICT_ORDER", None, "Priority is required"),
    ],
)
def test_stateful_priorities_follow_the_policys_rule_order(
    nfw: Any, order: str | None, priority: int | None, message: str
) -> None:
    arn = group_arn(nfw, order)
    with pytest.raises(nfw.exceptions.InvalidRequestException, match=message):
        nfw.create_firewall_policy(FirewallPolicyName="p", FirewallPolicy=policy(arn, order, priority))


def test_a_stateful_group_listed_as_stateless_is_of_the_wrong_entity_type(nfw: Any) -> None:
    arn = group_arn(nfw, None)
    document = policy(arn, None)
    document["StatelessRuleGroupReferences"] = document.pop("StatefulRuleGroupReferences")
    document["StatelessRuleGroupReferences"][0]["Priority"] = 100

    with pytest.raises(nfw.exceptions.InvalidRequestException, match="incorrect entity type"):
        nfw.create_firewall_policy(FirewallPolicyName="p", FirewallPolicy=document)


def test_a_stateless_group_joins_at_its_priority(nfw: Any) -> None:
    stateless = nfw.create_rule_group(
        RuleGroupName="ips", Type="STATELESS", Capacity=10, RuleGroup=STATELESS_GROUP
    )
    arn = stateless["RuleGroupResponse"]["RuleGroupArn"]
    document = {
        "StatelessDefaultActions": ["aws:forward_to_sfe"],
        "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
        "StatelessRuleGroupReferences": [{"ResourceArn": arn, "Priority": 100}],
    }
    created = nfw.create_firewall_policy(FirewallPolicyName="p", FirewallPolicy=document)
    assert created["FirewallPolicyResponse"]["FirewallPolicyName"] == "p"
