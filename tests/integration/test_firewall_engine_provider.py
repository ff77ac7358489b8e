"""The Next Generation dynamic providers against the emulator (issue 19): DryRun sizing, creation in
AWS's shape, replacement of the policy's group with a fresh token, refresh and delete."""

from typing import Any

import boto3
import pytest
from botocore.config import Config

from components.firewall_engine import FirewallPolicyV2Provider, FirewallRuleGroupProvider
from handlers.engine_rules import initial_rule_group


@pytest.fixture
def nfw(aws: object) -> Any:
    return boto3.client("network-firewall", config=Config(retries={"total_max_attempts": 1}))


def group_props(capacity: int = 2000, domains: bool = False) -> dict[str, Any]:
    return {
        "kind": "firewall-rule-group",
        "namePrefix": "blocklist-rules",
        "capacity": capacity,
        "domains": domains,
    }


def test_a_group_is_created_auto_named_with_the_tools_initial_content(nfw: Any) -> None:
    created = FirewallRuleGroupProvider(nfw).create(group_props())

    assert created.outs["name"].startswith("blocklist-rules-") and len(created.outs["name"]) == 23
    assert created.outs["measuredCapacity"] == 2000
    answer = nfw.describe_rule_group(RuleGroupArn=created.id, Type="FIREWALL")
    assert answer["FirewallRuleGroup"] == initial_rule_group()
    assert answer["RuleGroupResponse"]["Capacity"] == 2000


def test_a_capacity_the_dry_run_finds_too_small_is_refused_before_anything_exists(nfw: Any) -> None:
    with pytest.raises(ValueError, match="counts 2 capacity units for a full group, over its capacity 1"):
        FirewallRuleGroupProvider(nfw).create(group_props(capacity=1))
    assert nfw.list_rule_groups(Type="FIREWALL")["RuleGroups"] == []


def test_the_policy_moves_to_a_replaced_group_and_refresh_sees_deletions(nfw: Any) -> None:
    groups = FirewallRuleGroupProvider(nfw)
    first = groups.create(group_props())
    domains = groups.create({**group_props(capacity=2002, domains=True), "namePrefix": "blocklist-domains"})
    policies = FirewallPolicyV2Provider(nfw)
    props = {"namePrefix": "blocklist-policy", "ruleGroupArn": first.id, "domainRuleGroupArn": domains.id}
    policy = policies.create(props)
    second = groups.create(group_props(capacity=4000))

    moved = {**props, "ruleGroupArn": second.id}
    assert policies.diff(policy.id, policy.outs, moved).replaces == []
    policies.update(policy.id, policy.outs, moved)
    groups.delete(first.id, first.outs)  # no longer referenced: AWS lets it go

    entries = nfw.describe_firewall_policy_v2(FirewallPolicyV2Arn=policy.id)["FirewallPolicyV2"]
    assert [entry["ResourceArn"] for entry in entries["FirewallRuleGroupEntries"]] == [second.id, domains.id]
    assert groups.read(first.id, first.outs).id is None
    assert groups.read(second.id, second.outs).outs["capacity"] == 4000
