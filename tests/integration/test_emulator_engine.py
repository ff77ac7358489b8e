"""The emulator's Next Generation side (issue 19): FIREWALL rule groups, FirewallPolicyV2, and flow
flushes refuse what Network Firewall refuses, keep the API's shapes, and record what a flow table needs."""

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from nfw_blocklist.emulator import flow_operations as flows
from tests.integration.test_emulator_policies import STATELESS_GROUP

NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def nfw(aws: object) -> Any:
    return boto3.client("network-firewall", config=NO_RETRIES)


def drop_rule(**overrides: str) -> dict[str, Any]:
    rule = {
        "Action": "DROP",
        "ActionScope": "PACKET",
        "Hook": "IP_PRE_FLOW",
        "Protocol": "IP",
        "SourceIPs": "$BLOCKED",
    }
    return {**rule, **overrides}


def firewall_group(cidrs: list[str], rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "RulesSource": {"FirewallRules": rules if rules is not None else [drop_rule()]},
        "RuleVariables": {"IPSets": {"BLOCKED": {"Definition": cidrs}}},
    }


def create_firewall_group(nfw: Any, group: dict[str, Any], capacity: int = 100, **more: Any) -> Any:
    return nfw.create_rule_group(
        RuleGroupName="ng", Type="FIREWALL", Capacity=capacity, FirewallRuleGroup=group, **more
    )


def test_firewall_group_is_described_in_the_firewall_member_with_its_capacity(nfw: Any) -> None:
    group = firewall_group(["198.51.100.7/32", "203.0.113.9/32"])
    arn = create_firewall_group(nfw, group)["RuleGroupResponse"]["RuleGroupArn"]

    answer = nfw.describe_rule_group(RuleGroupArn=arn, Type="FIREWALL")

    assert answer["FirewallRuleGroup"] == group
    assert "RuleGroup" not in answer
    assert answer["RuleGroupResponse"]["ConsumedCapacity"] == 2


def test_dry_run_reports_the_capacity_and_creates_nothing(nfw: Any) -> None:
    group = firewall_group([f"198.51.100.{n}/32" for n in range(10)])
    answer = create_firewall_group(nfw, group, capacity=30_000, DryRun=True)

    assert answer["RuleGroupResponse"]["ConsumedCapacity"] == 10
    assert nfw.list_rule_groups(Type="FIREWALL")["RuleGroups"] == []


@pytest.mark.parametrize(
    ("rule", "refusal"),
    [
        (drop_rule(Protocol="TCP"), "does not match hook"),
        (drop_rule(Hook="TLS_CLIENT_HELLO", Protocol="TLS", ActionScope="HOOK"), "only the PACKET and FLOW"),
        (drop_rule(ActionScope="TX"), "only the PACKET and FLOW"),
        (drop_rule(ActionScope="FLOW"), "takes only the PACKET scope"),
        (drop_rule(Action="PASS"), "Action 'PASS' is invalid"),
        (drop_rule(SourceIPs="$MISSING"), "does not define"),
        (drop_rule(SourceIPs="[198.51.100.1/32,198.51.100.2/32]"), "not 'any', a CIDR block"),
        (drop_rule(SourceIPs="10.0.0.1/8"), "not 'any', a CIDR block"),
        (drop_rule(DestPorts="http"), "not a port"),
    ],
)
def test_firewall_rules_aws_refuses_are_refused(nfw: Any, rule: dict[str, Any], refusal: str) -> None:
    with pytest.raises(ClientError, match=refusal):
        create_firewall_group(nfw, firewall_group(["198.51.100.7/32"], [rule]))


def test_accept_at_an_application_hook_with_a_transaction_scope_is_accepted(nfw: Any) -> None:
    rule = drop_rule(Action="ACCEPT", ActionScope="TX", Hook="HTTP1_REQUEST_HEADERS", Protocol="HTTP")
    create_firewall_group(nfw, firewall_group(["198.51.100.7/32"], [rule]))


def test_capacity_counts_every_address_of_the_variable_a_rule_references(nfw: Any) -> None:
    both = [drop_rule(), drop_rule(SourceIPs="any", DestIPs="$BLOCKED")]
    with pytest.raises(ClientError, match="consumed 6 > capacity 5"):
        create_firewall_group(
            nfw, firewall_group(["198.51.100.1/32", "198.51.100.2/32", "198.51.100.3/32"], both), capacity=5
        )


def test_a_group_without_rules_and_reference_sets_are_refused(nfw: Any) -> None:
    with pytest.raises(ClientError, match="exactly one of FirewallRules"):
        create_firewall_group(nfw, firewall_group(["198.51.100.7/32"], []))
    with_sets = {**firewall_group(["198.51.100.7/32"]), "ReferenceSets": {"IPSetReferences": {"X": {}}}}
    with pytest.raises(ClientError, match="use RuleVariables instead"):
        create_firewall_group(nfw, with_sets)


def test_classic_content_cannot_describe_a_firewall_group_nor_the_reverse(nfw: Any) -> None:
    with pytest.raises(ClientError, match="RuleGroup cannot describe a FIREWALL rule group"):
        nfw.create_rule_group(RuleGroupName="x", Type="FIREWALL", Capacity=10, RuleGroup=STATELESS_GROUP)
    with pytest.raises(ClientError, match="FirewallRuleGroup cannot describe a STATELESS rule group"):
        nfw.create_rule_group(
            RuleGroupName="x",
            Type="STATELESS",
            Capacity=10,
            FirewallRuleGroup=firewall_group(["198.51.100.7/32"]),
        )


def test_update_needs_the_current_token_and_a_firewall_type(nfw: Any) -> None:
    created = create_firewall_group(nfw, firewall_group(["198.51.100.7/32"]))
    arn = created["RuleGroupResponse"]["RuleGroupArn"]
    bigger = firewall_group(["198.51.100.7/32", "198.51.100.8/32"])
    new = nfw.update_rule_group(
        RuleGroupArn=arn, Type="FIREWALL", UpdateToken=created["UpdateToken"], FirewallRuleGroup=bigger
    )
    with pytest.raises(ClientError, match="InvalidToken"):
        nfw.update_rule_group(
            RuleGroupArn=arn, Type="FIREWALL", UpdateToken=created["UpdateToken"], FirewallRuleGroup=bigger
        )
    with pytest.raises(ClientError, match="incorrect entity type"):
        nfw.describe_rule_group(RuleGroupArn=arn, Type="STATELESS")
    assert new["RuleGroupResponse"]["ConsumedCapacity"] == 2


def test_policy_types_do_not_mix(nfw: Any) -> None:
    firewall_arn = create_firewall_group(nfw, firewall_group(["198.51.100.7/32"]))["RuleGroupResponse"][
        "RuleGroupArn"
    ]
    stateless_arn = nfw.create_rule_group(
        RuleGroupName="sl", Type="STATELESS", Capacity=10, RuleGroup=STATELESS_GROUP
    )["RuleGroupResponse"]["RuleGroupArn"]
    classic = {
        "StatelessDefaultActions": ["aws:forward_to_sfe"],
        "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
        "StatefulRuleGroupReferences": [{"ResourceArn": firewall_arn}],
    }
    with pytest.raises(ClientError, match="incorrect entity type"):
        nfw.create_firewall_policy(FirewallPolicyName="classic", FirewallPolicy=classic)
    with pytest.raises(ClientError, match="incorrect entity type"):
        nfw.create_firewall_policy_v2(
            FirewallPolicyV2Name="ng",
            FirewallPolicyV2={"FirewallRuleGroupEntries": [{"Priority": 1, "ResourceArn": stateless_arn}]},
        )


def test_v2_policy_reserves_capacity_and_holds_its_groups(nfw: Any) -> None:
    arn = create_firewall_group(nfw, firewall_group(["198.51.100.7/32"]), capacity=20_000)[
        "RuleGroupResponse"
    ]["RuleGroupArn"]
    entry = {"Priority": 10, "ResourceArn": arn}
    created = nfw.create_firewall_policy_v2(
        FirewallPolicyV2Name="ng",
        FirewallPolicyV2={"FirewallRuleGroupEntries": [entry], "PolicyMode": "ENFORCE"},
    )
    assert created["FirewallPolicyV2Response"]["ConsumedFirewallRuleCapacity"] == 20_000
    inline = {"Priority": 11, "InlineRuleGroup": firewall_group(["198.51.100.8/32"])}
    with pytest.raises(ClientError, match="unique"):
        nfw.update_firewall_policy_v2(
            FirewallPolicyV2Name="ng",
            UpdateToken=created["UpdateToken"],
            FirewallPolicyV2={"FirewallRuleGroupEntries": [entry, {**inline, "Priority": 10}]},
        )
    nfw.update_firewall_policy_v2(
        FirewallPolicyV2Name="ng",
        UpdateToken=created["UpdateToken"],
        FirewallPolicyV2={"FirewallRuleGroupEntries": [entry, inline]},
    )
    with pytest.raises(ClientError, match="still in use"):
        nfw.delete_rule_group(RuleGroupArn=arn)
    assert nfw.describe_firewall_policy_v2(FirewallPolicyV2Name="ng")["FirewallPolicyV2"][
        "FirewallRuleGroupEntries"
    ] == [entry, inline]


def test_flow_flush_is_recorded_described_and_handed_to_listeners(nfw: Any) -> None:
    firewall = boto3.client("network-firewall", config=NO_RETRIES).create_firewall(
        FirewallName="fw",
        FirewallPolicyArn="arn:aws:network-firewall:us-east-1:123456789012:firewall-policy/p",
        VpcId="vpc-1",
        SubnetMappings=[{"SubnetId": "subnet-1"}],
    )["Firewall"]["FirewallArn"]
    seen: list[flows.FlowOperation] = []
    remove = flows.add_flush_listener(seen.append)
    filters = [{"SourceAddress": {"AddressDefinition": "198.51.100.7/32"}}]
    started = nfw.start_flow_flush(FirewallArn=firewall, FlowFilters=filters)
    remove()

    described = nfw.describe_flow_operation(FirewallArn=firewall, FlowOperationId=started["FlowOperationId"])
    assert described["FlowOperationStatus"] == "COMPLETED"
    assert described["FlowOperation"]["FlowFilters"] == filters
    assert [(op.firewall_arn, list(op.filters)) for op in seen] == [(firewall, filters)]


@pytest.mark.parametrize(
    ("filters", "refusal"),
    [
        ([], "1-20 filters"),
        ([{"SourceAddress": {"AddressDefinition": "198.51.100.7/32"}}] * 21, "1-20 filters"),
        ([{"DestinationAddress": {"AddressDefinition": "198.51.100.7"}}], "CIDR notation"),
    ],
)
def test_flow_flush_refuses_bad_filters(nfw: Any, filters: list[dict[str, Any]], refusal: str) -> None:
    firewall = nfw.create_firewall(
        FirewallName="fw",
        FirewallPolicyArn="arn:aws:network-firewall:us-east-1:123456789012:firewall-policy/p",
        VpcId="vpc-1",
        SubnetMappings=[{"SubnetId": "subnet-1"}],
    )["Firewall"]["FirewallArn"]
    with pytest.raises(ClientError, match=refusal):
        nfw.start_flow_flush(FirewallArn=firewall, FlowFilters=filters)


def test_flow_flush_of_an_unknown_firewall_is_not_found(nfw: Any) -> None:
    with pytest.raises(ClientError, match="ResourceNotFound"):
        nfw.start_flow_flush(
            FirewallArn="arn:aws:network-firewall:us-east-1:123456789012:firewall/none",
            FlowFilters=[{"SourceAddress": {"AddressDefinition": "198.51.100.7/32"}}],
        )


def test_v2_policy_over_the_firewall_engines_capacity_is_refused(nfw: Any) -> None:
    arns = [
        nfw.create_rule_group(
            RuleGroupName=f"ng{n}",
            Type="FIREWALL",
            Capacity=20_000,
            FirewallRuleGroup=firewall_group(["198.51.100.7/32"]),
        )["RuleGroupResponse"]["RuleGroupArn"]
        for n in range(2)
    ]
    entries = [{"Priority": n + 1, "ResourceArn": arn} for n, arn in enumerate(arns)]
    with pytest.raises(ClientError, match="reserves 40000 capacity units"):
        nfw.create_firewall_policy_v2(
            FirewallPolicyV2Name="ng", FirewallPolicyV2={"FirewallRuleGroupEntries": entries}
        )
