"""firewallPolicyType next-generation (issue 19): FIREWALL groups and a FirewallPolicyV2 as dynamic resources
whose content Pulumi never holds, the functions' settings and grants, and the config rules."""

from typing import Any

import pytest

from components.config import InvalidConfig, StackConfig
from components.firewall_engine import (
    KIND_POLICY,
    KIND_RULE_GROUP,
    REPLACING_INPUTS,
    FirewallRuleGroupProvider,
    full_group,
)
from handlers.settings import ENV_FIREWALL_POLICY_TYPE, ENV_FLUSH_FIREWALL_ARNS, FirewallPolicyType

DYNAMIC = "pulumi-python:dynamic:Resource"
NG = {"firewallPolicyType": "next-generation"}
FIREWALL = "arn:aws:network-firewall:us-east-1:123456789012:firewall/fw"


def dynamic(rendered: Any, kind: str) -> list[Any]:
    return [resource for resource in rendered.of_type(DYNAMIC) if resource.inputs["kind"] == kind]


def test_next_generation_declares_firewall_groups_and_no_classic_group(render_dev):
    rendered = render_dev(**NG)
    groups = dynamic(rendered, KIND_RULE_GROUP)

    assert rendered.of_type("aws:networkfirewall/ruleGroup:RuleGroup") == []
    assert sorted((g.name, g.inputs["capacity"], g.inputs["domains"]) for g in groups) == [
        ("nfw-blocklist-domains", 2002, True),
        ("nfw-blocklist-rules", 2000, False),
    ]
    assert all(":firewall-rulegroup/nfw-blocklist-" in g.state["arn"] for g in groups)


def test_the_groups_content_is_never_an_input_so_no_stale_token_is_ever_sent(render_dev):
    for group in dynamic(render_dev(**NG), KIND_RULE_GROUP):
        assert not {"ruleGroup", "firewallRuleGroup", "rules", "updateToken"} & set(group.inputs), group.urn


def test_only_what_aws_fixes_at_creation_replaces_a_group():
    provider = FirewallRuleGroupProvider()
    olds = {
        "kind": KIND_RULE_GROUP,
        "namePrefix": "n",
        "capacity": 2000,
        "type": "FIREWALL",
        "domains": False,
    }

    assert provider.diff("arn", olds, {**olds, "capacity": 4000}).replaces == ["capacity"]
    assert provider.diff("arn", olds, {**olds, "tags": {"a": "b"}}).replaces == []
    assert provider.diff("arn", olds, dict(olds)).changes is False
    assert set(REPLACING_INPUTS) == {"kind", "namePrefix", "capacity", "type", "domains"}


def test_the_dry_run_measures_a_full_group():
    assert (
        len(full_group(2000, domains=False)["RuleVariables"]["IPSets"]["NFW_BLOCKLIST"]["Definition"]) == 1000
    )
    assert len(full_group(2002, domains=True)["RulesSource"]["RulesSourceList"]["Targets"]) == 1000


def test_the_functions_read_the_policy_type_and_are_granted_the_flush(render_dev):
    stack = {**NG, "flushFirewallArns": f'["{FIREWALL}"]'}
    rendered = render_dev(**stack)
    block = rendered.by_name("nfw-blocklist-block")
    variables = block.inputs["environment"]["variables"]

    assert variables[ENV_FIREWALL_POLICY_TYPE] == "next-generation"
    assert variables[ENV_FLUSH_FIREWALL_ARNS] == f'["{FIREWALL}"]'
    policy = rendered.by_name("nfw-blocklist-block-policy").inputs["policy"]
    assert '"network-firewall:StartFlowFlush"' in policy and FIREWALL in policy


def test_a_classic_stack_keeps_its_environment(render_dev):
    variables = render_dev().by_name("nfw-blocklist-block").inputs["environment"]["variables"]
    assert ENV_FIREWALL_POLICY_TYPE not in variables
    assert "StartFlowFlush" not in render_dev().by_name("nfw-blocklist-block-policy").inputs["policy"]


def test_create_firewall_policy_makes_a_v2_policy_after_the_repopulation(render_dev):
    rendered = render_dev(createFirewallPolicy="true", **NG)
    (policy,) = dynamic(rendered, KIND_POLICY)
    (repopulation,) = rendered.of_type("aws:lambda/invocation:Invocation")
    groups = {g.name: g.state["arn"] for g in dynamic(rendered, KIND_RULE_GROUP)}

    assert policy.inputs["ruleGroupArn"] == groups["nfw-blocklist-rules"]
    assert policy.inputs["domainRuleGroupArn"] == groups["nfw-blocklist-domains"]
    assert repopulation.urn in policy.dependencies
    assert rendered.outputs["firewallPolicyArn"] == policy.state["arn"]
    assert rendered.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy") == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"firewallPolicyType": "v2"}, "firewallPolicyType"),
        ({"flushFirewallArns": f'["{FIREWALL}"]'}, "flushFirewallArns applies to firewallPolicyType"),
        (
            {**NG, "flushFirewallArns": '["arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"]'},
            "flushFirewallArns",
        ),
        ({**NG, "flushFirewallArns": f'["{FIREWALL}", "{FIREWALL}"]'}, "flushFirewallArns"),
    ],
)
def test_bad_next_generation_config_is_refused_naming_the_key(values, message):
    with pytest.raises(InvalidConfig, match=message):
        StackConfig.from_mapping({"adminEmail": "ops@example.com", **values})


def test_home_net_is_refused_for_a_firewall_domain_list(render_dev):
    with pytest.raises(Exception, match="homeNetCidrs applies to a Classic stateful domain list"):
        render_dev(**NG, homeNetCidrs='["10.0.0.0/8"]')


def test_the_default_is_classic():
    config = StackConfig.from_mapping({"adminEmail": "ops@example.com"})
    assert config.firewall_policy_type is FirewallPolicyType.CLASSIC


def test_the_component_package_refuses_next_generation_plainly(construct, monkeypatch):
    from components import firewall_engine
    from components.rule_group import BlocklistRuleGroup

    monkeypatch.setattr(firewall_engine, "_component_provider", True)
    with pytest.raises(InvalidConfig, match="needs a Python program"):
        construct(BlocklistRuleGroup, {"firewall_policy_type": FirewallPolicyType.NEXT_GENERATION})
    construct(BlocklistRuleGroup, {})  # Classic still works there
