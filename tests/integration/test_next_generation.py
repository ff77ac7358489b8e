"""IP hosts and domains on a Next Generation firewall (issue 19): the FIREWALL group's variable and two drop
rules, with every guarantee of the Classic writer, against moto and the emulator's FIREWALL groups."""

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from handlers import clock, writer
from handlers.engine_rules import (
    PLACEHOLDER_CIDR,
    VARIABLE,
    initial_rule_group,
    owned_rules,
    read_group,
    render_group,
)
from handlers.errors import ConfigurationError
from handlers.service import BlocklistService
from handlers.settings import CapacityPolicy, DomainBlocking, FirewallPolicyType
from nfw_blocklist.emulator import flow_operations as flows
from nfw_blocklist.findings import dns_finding, documentation_hosts, native_finding
from tests.integration import stack
from tests.integration.stack import FakeTime

NG = FirewallPolicyType.NEXT_GENERATION
FOREIGN_ACCEPT = {
    "Action": "ACCEPT",
    "ActionScope": "FLOW",
    "Hook": "TCP_FLOW_START",
    "Protocol": "TCP",
    "DestIPs": "$WEB",
    "DestPorts": "443",
}
FOREIGN_VARIABLES = {"IPSets": {"WEB": {"Definition": ["10.0.0.0/24"]}}}


def create_firewall_group(capacity: int = 100, name: str = "blocklist-ng", **content: Any) -> str:
    group = {**initial_rule_group(), **content}
    answer = boto3.client("network-firewall").create_rule_group(
        RuleGroupName=name, Type="FIREWALL", Capacity=capacity, FirewallRuleGroup=group
    )
    return str(answer["RuleGroupResponse"]["RuleGroupArn"])


def content(arn: str) -> dict[str, Any]:
    answer = boto3.client("network-firewall").describe_rule_group(RuleGroupArn=arn, Type="FIREWALL")
    return dict(answer["FirewallRuleGroup"])


def variable(arn: str) -> list[str]:
    return list(content(arn)["RuleVariables"]["IPSets"][VARIABLE]["Definition"])


def put(arn: str, group: dict[str, Any]) -> None:
    client = boto3.client("network-firewall")
    token = client.describe_rule_group(RuleGroupArn=arn, Type="FIREWALL")["UpdateToken"]
    client.update_rule_group(RuleGroupArn=arn, Type="FIREWALL", UpdateToken=token, FirewallRuleGroup=group)


@pytest.fixture
def ng(aws: object, fake_time: FakeTime) -> str:
    """The ledger table and a FIREWALL group holding someone else's accept rule; the group's ARN."""
    stack.create_table()
    group = initial_rule_group()
    group["RulesSource"]["FirewallRules"].append(FOREIGN_ACCEPT)
    group["RuleVariables"]["IPSets"].update(FOREIGN_VARIABLES["IPSets"])
    answer = boto3.client("network-firewall").create_rule_group(
        RuleGroupName="blocklist-ng", Type="FIREWALL", Capacity=10, FirewallRuleGroup=group
    )
    return str(answer["RuleGroupResponse"]["RuleGroupArn"])


def service(arn: str, **overrides: Any) -> BlocklistService:
    return stack.service(arn, firewall_policy_type=NG, **overrides)


def block(svc: BlocklistService, host: str) -> dict[str, Any]:
    return svc.block(svc.record(native_finding(host, seen_at=clock.now())))


def test_a_blocked_host_is_dropped_both_ways_before_anyone_elses_rules(ng: str) -> None:
    outcome = block(service(ng), "203.0.113.9")

    group = content(ng)
    assert variable(ng) == ["203.0.113.9/32"]
    assert group["RulesSource"]["FirewallRules"] == [*owned_rules(), FOREIGN_ACCEPT]
    assert group["RuleVariables"]["IPSets"]["WEB"] == FOREIGN_VARIABLES["IPSets"]["WEB"]
    assert outcome["kinds"]["address"]["where"] == "rule group blocklist-ng"
    assert outcome["kinds"]["address"]["counts"]["blocked"] == 1


def test_an_unblocked_host_leaves_the_placeholder_never_an_empty_variable(ng: str) -> None:
    svc = service(ng)
    block(svc, "203.0.113.9")

    svc.unblock("203.0.113.9")

    assert variable(ng) == [PLACEHOLDER_CIDR]


def test_a_full_group_evicts_the_oldest_host(ng: str, fake_time: FakeTime) -> None:
    svc = service(ng)
    # capacity 10 - the foreign rule's 1 unit: 4 hosts at 2 units each
    for n in range(4):
        block(svc, f"203.0.113.{n}")
        fake_time.advance(60)

    outcome = block(svc, "203.0.113.99")

    assert outcome["kinds"]["address"]["evicted"] == ["203.0.113.0/32"]
    assert set(variable(ng)) == {f"203.0.113.{n}/32" for n in (1, 2, 3, 99)}


def test_a_full_group_refuses_under_refuse(ng: str) -> None:
    svc = service(ng, on_capacity_full=CapacityPolicy.REFUSE)
    for n in range(4):
        block(svc, f"203.0.113.{n}")

    outcome = block(svc, "203.0.113.99")

    assert outcome["kinds"]["address"]["error"] == "CapacityExceeded"
    assert "203.0.113.99/32" not in variable(ng)


def test_prune_repairs_hand_edits_and_never_writes_back_a_protected_host(ng: str) -> None:
    svc = service(ng, protected_cidrs=("192.0.2.0/24",))
    block(svc, "203.0.113.9")
    edited = content(ng)
    edited["RulesSource"]["FirewallRules"] = [owned_rules()[0], FOREIGN_ACCEPT]  # the "to" rule deleted
    edited["RuleVariables"]["IPSets"][VARIABLE]["Definition"] = ["192.0.2.7/32", "203.0.113.9/32"]
    put(ng, edited)

    pruned = svc.prune()

    assert pruned["drift"]["repaired"] is True
    assert content(ng)["RulesSource"]["FirewallRules"] == [*owned_rules(), FOREIGN_ACCEPT]
    assert variable(ng) == ["203.0.113.9/32"]


def test_a_protected_host_edited_into_the_group_leaves_it_at_the_next_block(ng: str) -> None:
    # The environment's last write gave it a token it trusts: the hand edit makes that token stale, so the
    # next block reads the group again and checks what it holds, not only the host it adds.
    svc = service(ng, protected_cidrs=("192.0.2.0/24",))
    block(svc, "203.0.113.1")
    edited = content(ng)
    edited["RuleVariables"]["IPSets"][VARIABLE]["Definition"] = ["192.0.2.7/32", "203.0.113.1/32"]
    put(ng, edited)

    block(svc, "203.0.113.2")

    assert variable(ng) == ["203.0.113.1/32", "203.0.113.2/32"]


def group_of(size: int) -> str:
    """A FIREWALL group whose variable holds ``size`` blocked hosts, with room for as many again."""
    arn = create_firewall_group(capacity=4 * size + 10, name=f"blocklist-ng-{size}")
    group = content(arn)
    put(arn, render_group(group, read_group(group), [f"{h}/32" for h in documentation_hosts(size)]))
    return arn


def counted(check: Callable[[str], bool], seen: list[str]) -> Callable[[str], bool]:
    def counting(host: str) -> bool:
        seen.append(host)
        return check(host)

    return counting


@pytest.mark.parametrize("size", [5, 200])
def test_a_block_checks_only_the_host_it_adds_against_the_never_block_list(
    aws: object, fake_time: FakeTime, size: int
) -> None:
    # GIVEN an environment whose first block read the group and checked every host it holds
    stack.create_table()
    svc = service(group_of(size))
    block(svc, "203.0.113.1")
    checked: list[str] = []
    svc.writer.blockable = counted(svc.writer.blockable, checked)

    # WHEN it blocks one more host on the group it wrote last
    block(svc, "203.0.113.2")

    # THEN the never-block list is asked about that host alone, whatever the group's size
    assert checked == ["203.0.113.2/32"]
    assert len(variable(svc.settings.rule_group_arn)) == size + 2


@pytest.mark.parametrize("size", [5, 200])
def test_a_block_into_a_group_with_room_weighs_no_host_for_eviction(
    aws: object, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    stack.create_table()
    svc = service(group_of(size))
    weighed: list[str] = []
    candidate = writer.EvictionCandidate
    monkeypatch.setattr(
        writer, "EvictionCandidate", lambda host, seen: weighed.append(host) or candidate(host, seen)
    )

    block(svc, "203.0.113.1")

    assert weighed == []
    assert len(variable(svc.settings.rule_group_arn)) == size + 1


def test_a_replaced_group_is_repopulated_from_the_ledger(ng: str) -> None:
    block(service(ng), "203.0.113.9")
    boto3.client("network-firewall").delete_rule_group(RuleGroupArn=ng)
    replacement = create_firewall_group()

    service(replacement).prune()

    assert variable(replacement) == ["203.0.113.9/32"]


def test_a_foreign_rule_on_our_variable_stops_the_writer(ng: str) -> None:
    hijacked = content(ng)
    hijacked["RulesSource"]["FirewallRules"].append({**FOREIGN_ACCEPT, "DestIPs": f"${VARIABLE}"})
    put(ng, hijacked)

    with pytest.raises(ConfigurationError, match="references its variable"):
        service(ng).writer.sync(full=True)


def test_status_reads_the_firewall_group(ng: str) -> None:
    svc = service(ng)
    block(svc, "203.0.113.9")

    status = svc.status()

    assert status["capacity"] == {"used": 3, "total": 10}
    assert status["drift"] == {"missing_from_group": [], "not_in_ledger": [], "owned_rules_edited": False}


def test_newly_blocked_hosts_flows_are_flushed_on_the_named_firewalls(ng: str) -> None:
    firewall = boto3.client("network-firewall").create_firewall(
        FirewallName="fw",
        FirewallPolicyArn="arn:aws:network-firewall:us-east-1:123456789012:firewall-policy-v2/p",
        VpcId="vpc-1",
        SubnetMappings=[{"SubnetId": "subnet-1"}],
    )["Firewall"]["FirewallArn"]
    missing = "arn:aws:network-firewall:us-east-1:123456789012:firewall/gone"
    seen: list[flows.FlowOperation] = []
    remove = flows.add_flush_listener(seen.append)

    outcome = block(service(ng, flush_firewall_arns=(firewall, missing)), "203.0.113.9")
    remove()

    assert [(op.firewall_arn, list(op.filters)) for op in seen] == [
        (
            firewall,
            [
                {"SourceAddress": {"AddressDefinition": "203.0.113.9/32"}},
                {"DestinationAddress": {"AddressDefinition": "203.0.113.9/32"}},
            ],
        )
    ]
    flush = outcome["kinds"]["address"]["flush"]
    assert (flush["hosts"], flush["operations"], flush["failed"]) == (1, 1, 1)
    assert outcome["kinds"]["address"]["counts"]["blocked"] == 1  # a failed flush never undoes the block


def test_domains_go_to_a_firewall_domain_list(ng: str) -> None:
    from handlers.enforcement import domain_rules_source

    answer = boto3.client("network-firewall").create_rule_group(
        RuleGroupName="blocklist-ng-domains",
        Type="FIREWALL",
        Capacity=100,
        FirewallRuleGroup={"RulesSource": domain_rules_source([])},
    )
    domains = answer["RuleGroupResponse"]["RuleGroupArn"]
    svc = service(ng, domain_blocking=DomainBlocking.NETWORK_FIREWALL, domain_rule_group_arn=domains)

    svc.block(svc.record(dns_finding("guarddutyc2activityb.com")))

    assert content(domains)["RulesSource"]["RulesSourceList"]["Targets"] == ["guarddutyc2activityb.com"]


def test_a_classic_stack_never_writes_a_firewall_group(ng: str) -> None:
    outcome = block(stack.service(ng), "203.0.113.9")

    assert outcome["kinds"]["address"]["error"] == "FirewallRejected"
    assert "incorrect entity type" in outcome["kinds"]["address"]["reason"]
    assert variable(ng) == [PLACEHOLDER_CIDR]


def test_a_flush_names_at_most_twenty_filters_per_call(aws: object) -> None:
    from handlers.flush import FlowFlusher

    client = boto3.client("network-firewall")
    firewall = client.create_firewall(
        FirewallName="fw",
        FirewallPolicyArn="arn:aws:network-firewall:us-east-1:123456789012:firewall-policy-v2/p",
        VpcId="vpc-1",
        SubnetMappings=[{"SubnetId": "subnet-1"}],
    )["Firewall"]["FirewallArn"]
    seen: list[flows.FlowOperation] = []
    remove = flows.add_flush_listener(seen.append)

    report = FlowFlusher([firewall], client_factory=lambda: client).flush(
        [f"203.0.113.{n}/32" for n in range(11)]
    )
    remove()

    assert [len(op.filters) for op in seen] == [20, 2]
    assert (report.hosts, len(report.operations), report.failures) == (11, 2, [])
