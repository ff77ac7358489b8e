"""BlocklistRuleGroup: the group the handlers own after creation, and the ledger they query."""

import inspect
import re

import pulumi_aws as aws
import pytest

from components.config import InvalidConfig, StackConfig
from components.constants import PLACEHOLDER_PRIORITY
from components.rule_group import RULES_PROPERTY, BlocklistRuleGroup, initial_rules_source
from handlers import schema
from handlers.rules import (
    METRIC_ACTION_NAME,
    MONITOR_ACTION_NAME,
    MONITOR_DIMENSION_VALUE,
    metric_custom_action,
)

RULE_GROUP = "aws:networkfirewall/ruleGroup:RuleGroup"
TABLE = "aws:dynamodb/table:Table"

REPLACED_ON_CHANGE = {"capacity", "name", "type", "region"}
"""RuleGroup inputs whose change makes the provider replace the group (ForceNew): no UpdateRuleGroup."""
UPDATED_WITHOUT_TOKEN = {"tags"}
"""Updated with TagResource/UntagResource, which take no UpdateToken."""


@pytest.fixture(scope="module")
def group(render_dev):
    found = render_dev().by_name("nfw-blocklist-rules")
    return found


@pytest.fixture(scope="module")
def table(render_dev):
    (found,) = render_dev().of_type(TABLE)
    return found


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)


def _ignored(path: str, ignore_changes: tuple[str, ...]) -> bool:
    return any(path == ignored or path.startswith(f"{ignored}.") for ignored in ignore_changes)


def test_rule_group_ignores_changes_to_its_rules_so_updates_never_unblock(group):
    assert _ignored(RULES_PROPERTY, group.ignore_changes), group.urn
    assert RULES_PROPERTY == "ruleGroup.rulesSource"
    assert "rulesSource" in group.inputs["ruleGroup"], "the ignored path must exist in the inputs"


def test_every_input_the_provider_updates_with_the_stale_token_is_ignored(group):
    # GIVEN every input of pulumi-aws's own RuleGroupArgs (so an input added in a later SDK is caught)
    parameters = inspect.signature(aws.networkfirewall.RuleGroupArgs.__init__).parameters
    inputs = {_camel(p) for p in parameters if p != "__self__"}
    assert {"capacity", "ruleGroup", "description", "tags"} <= inputs
    # THEN each one is replaced, tagged without the token, or never updated (ignore_changes): an
    # UpdateRuleGroup carrying the UpdateToken from Pulumi's state fails once a function has written.
    updated_with_token = inputs - REPLACED_ON_CHANGE - UPDATED_WITHOUT_TOKEN
    assert sorted(p for p in updated_with_token if not _ignored(p, group.ignore_changes)) == [], group.urn


def test_rule_group_is_auto_named_so_a_replacement_is_created_before_the_old_one_is_deleted(render_dev):
    # A user-set name forces delete-before-create, which AWS refuses while a policy references the group.
    for overrides in ({}, {"createFirewallPolicy": "true"}):
        for found in render_dev(**overrides).of_type(RULE_GROUP):
            assert "name" not in found.inputs, found.urn


def test_rule_group_is_stateless_with_the_configured_capacity(group):
    assert (group.inputs["type"], group.inputs["capacity"]) == ("STATELESS", 2000)


def test_capacity_override_reaches_the_rule_group(render_dev):
    found = render_dev(ruleGroupCapacity="30000").by_name("nfw-blocklist-rules")
    assert found.inputs["capacity"] == 30000


def test_rule_group_carries_both_modes_metric_actions_the_handlers_reference(group):
    actions = group.inputs["ruleGroup"]["rulesSource"]["statelessRulesAndCustomActions"]["customActions"]
    assert actions == [
        {
            "actionName": api["ActionName"],
            "actionDefinition": {
                "publishMetricAction": {
                    "dimensions": [
                        {"value": api["ActionDefinition"]["PublishMetricAction"]["Dimensions"][0]["Value"]}
                    ]
                }
            },
        }
        for api in (
            metric_custom_action(),
            metric_custom_action(MONITOR_ACTION_NAME, MONITOR_DIMENSION_VALUE),
        )
    ]
    assert actions[0]["actionName"] == METRIC_ACTION_NAME


def test_rule_group_starts_with_one_placeholder_that_matches_only_documentation_space(group):
    rules = group.inputs["ruleGroup"]["rulesSource"]["statelessRulesAndCustomActions"]["statelessRules"]
    assert rules == [
        {
            "priority": 65535,
            "ruleDefinition": {
                "actions": ["aws:forward_to_sfe"],
                "matchAttributes": {"sources": [{"addressDefinition": "192.0.2.255/32"}]},
            },
        }
    ]


def test_placeholder_stays_at_the_last_priority_whatever_the_configured_priority(render_dev):
    highest = render_dev(ruleGroupPriority="65434").by_name("nfw-blocklist-rules")
    rules = highest.inputs["ruleGroup"]["rulesSource"]["statelessRulesAndCustomActions"]["statelessRules"]
    assert [rule["priority"] for rule in rules] == [PLACEHOLDER_PRIORITY] == [65535]
    assert (
        initial_rules_source()["stateless_rules_and_custom_actions"]["stateless_rules"][0]["priority"]
        == 65535
    )


def test_a_priority_whose_destination_rule_would_reach_the_placeholder_is_refused():
    # P+100 must stay below the placeholder at 65535, so that a priority change can never overwrite it.
    assert StackConfig.from_mapping({"adminEmail": "a@example.com", "ruleGroupPriority": "65434"})
    with pytest.raises(InvalidConfig, match="ruleGroupPriority must be an integer from 1 to 65434"):
        StackConfig.from_mapping({"adminEmail": "a@example.com", "ruleGroupPriority": "65435"})


def test_the_smallest_capacity_holds_the_placeholder_and_one_host(construct):
    assert construct(BlocklistRuleGroup, {"capacity": 3}).by_name("x-rules").inputs["capacity"] == 3
    with pytest.raises(ValueError, match=re.escape("capacity must be an integer from 3 to 30000, got 2")):
        construct(BlocklistRuleGroup, {"capacity": 2})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"capacity": 1}, "BlocklistRuleGroup 'x': capacity must be an integer from 3 to 30000"),
        ({"capacity": 30001}, "BlocklistRuleGroup 'x': capacity must be an integer from 3 to 30000"),
        ({"capacity": True}, "BlocklistRuleGroup 'x': capacity must be an integer from 3 to 30000"),
        (
            {"create_firewall_policy": "yes"},
            re.escape("BlocklistRuleGroup 'x': createFirewallPolicy (create_firewall_policy) must be true"),
        ),
    ],
)
def test_invalid_arguments_are_refused_naming_the_input(construct, args, message):
    with pytest.raises(ValueError, match=message):
        construct(BlocklistRuleGroup, args)


@pytest.fixture
def rendered_options(monkeypatch):
    """Render the dev stack and return each resource's ``retain_on_delete`` as the engine received it
    (the render keeps no resource options besides ignore_changes, so listen to the registrations)."""
    from nfw_blocklist import render

    def render_options(**overrides: str) -> dict[str, bool]:
        seen: dict[str, bool] = {}
        register = render._RecordingMonitor.RegisterResource

        def recording(monitor, request):
            seen[request.name] = bool(request.retainOnDelete)
            return register(monitor, request)

        monkeypatch.setattr(render._RecordingMonitor, "RegisterResource", recording)
        render.render_stack("dev", overrides)
        monkeypatch.undo()
        return seen

    return render_options


def test_a_replaced_group_is_kept_when_a_policy_of_the_operator_may_reference_it(rendered_options):
    # Without the program's own policy, AWS would refuse to delete the old group during a capacity change.
    options = rendered_options()
    assert options["nfw-blocklist-rules"] is True
    assert options["nfw-blocklist-ledger"] is False


def test_a_replaced_group_is_deleted_once_the_programs_own_policy_references_the_new_one(rendered_options):
    options = rendered_options(createFirewallPolicy="true")
    assert options["nfw-blocklist-rules"] is False


def test_no_firewall_policy_by_default(render_dev):
    assert render_dev().of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy") == []
    assert "firewallPolicyArn" not in render_dev().outputs


def test_firewall_policy_references_the_group_when_asked(render_dev, group):
    rendered = render_dev(createFirewallPolicy="true")
    (policy,) = rendered.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    references = policy.inputs["firewallPolicy"]["statelessRuleGroupReferences"]
    assert references == [{"priority": 100, "resourceArn": group.state["arn"]}]
    assert rendered.outputs["firewallPolicyArn"] == policy.state["arn"]


def test_firewall_policy_references_the_domain_group_in_the_stateful_engine(render_dev):
    rendered = render_dev(createFirewallPolicy="true")
    (policy,) = rendered.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    domains = rendered.by_name("nfw-blocklist-domains-strict")
    stateful = policy.inputs["firewallPolicy"]["statefulRuleGroupReferences"]
    assert stateful == [{"resourceArn": domains.state["arn"], "priority": 100}], policy.urn
    # Unmatched packets must reach the stateful engine, or the domain list never sees them.
    assert policy.inputs["firewallPolicy"]["statelessDefaultActions"] == ["aws:forward_to_sfe"]


@pytest.mark.parametrize(
    ("setting", "group_name", "reference"),
    [
        ({}, "nfw-blocklist-domains-strict", {"priority": 100}),
        ({"statefulRuleOrder": "STRICT_ORDER"}, "nfw-blocklist-domains-strict", {"priority": 100}),
        ({"statefulRuleOrder": "DEFAULT_ACTION_ORDER"}, "nfw-blocklist-domains", {}),
    ],
)
def test_the_domain_group_and_the_programs_policy_share_the_configured_rule_order(
    render_dev, setting: dict[str, str], group_name: str, reference: dict[str, int]
):
    # AWS accepts a stateful group only in a policy of its own rule order; strict is AWS's recommendation.
    rendered = render_dev(createFirewallPolicy="true", **setting)
    order = setting.get("statefulRuleOrder", "STRICT_ORDER")
    domains = rendered.by_name(group_name)
    (policy,) = rendered.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")

    assert domains.inputs["ruleGroup"]["statefulRuleOptions"] == {"ruleOrder": order}, domains.urn
    assert policy.inputs["firewallPolicy"]["statefulEngineOptions"] == {"ruleOrder": order}, policy.urn
    assert policy.inputs["firewallPolicy"]["statefulRuleGroupReferences"] == [
        {"resourceArn": domains.state["arn"], **reference}
    ], policy.urn


def test_a_new_rule_order_is_a_new_domain_group_because_the_old_ones_order_is_fixed(render_dev):
    # ruleGroup is ignored after creation (the handlers own it), so only a new resource changes the order:
    # Pulumi creates it, moves the policy to it, then deletes the old one.
    strict = render_dev(createFirewallPolicy="true").by_name("nfw-blocklist-domains-strict")
    default = render_dev(createFirewallPolicy="true", statefulRuleOrder="DEFAULT_ACTION_ORDER").by_name(
        "nfw-blocklist-domains"
    )
    assert strict.urn != default.urn
    assert strict.state["arn"] != default.state["arn"]
    assert _ignored("ruleGroup.statefulRuleOptions", strict.ignore_changes), strict.urn


def test_a_rule_order_the_policy_cannot_have_is_refused_naming_the_key(render_dev):
    with pytest.raises(
        Exception, match="statefulRuleOrder must be one of STRICT_ORDER, DEFAULT_ACTION_ORDER"
    ):
        render_dev(statefulRuleOrder="strict")


def test_the_component_reads_the_rule_order_as_its_input(construct):
    rendered = construct(
        BlocklistRuleGroup,
        {
            "domain_capacity": 100,
            "stateful_rule_order": "DEFAULT_ACTION_ORDER",
            "create_firewall_policy": True,
        },
    )
    (policy,) = rendered.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    assert policy.inputs["firewallPolicy"]["statefulEngineOptions"] == {"ruleOrder": "DEFAULT_ACTION_ORDER"}
    assert rendered.by_name("x-domains").inputs["ruleGroup"]["statefulRuleOptions"] == {
        "ruleOrder": "DEFAULT_ACTION_ORDER"
    }
    with pytest.raises(ValueError, match=re.escape("statefulRuleOrder (stateful_rule_order) must be one of")):
        construct(BlocklistRuleGroup, {"domain_capacity": 100, "stateful_rule_order": "STRICT"})


def test_domain_group_is_a_stateful_deny_list_that_blocks_nothing_at_first(render_dev):
    domains = render_dev().by_name("nfw-blocklist-domains-strict")
    assert (domains.inputs["type"], domains.inputs["capacity"]) == ("STATEFUL", 2002), domains.urn
    source = domains.inputs["ruleGroup"]["rulesSource"]["rulesSourceList"]
    assert source == {
        "generatedRulesType": "DENYLIST",
        "targetTypes": ["TLS_SNI", "HTTP_HOST"],
        "targets": ["nfw-blocklist-placeholder.invalid"],
    }
    assert "ruleVariables" not in domains.inputs["ruleGroup"], domains.urn
    assert ":stateful-rulegroup/" in domains.state["arn"]
    assert domains.state["arn"] == render_dev().outputs["domainRuleGroupArn"]


def test_domain_group_ignores_changes_to_its_list_and_sets_home_net_when_configured(render_dev):
    rendered = render_dev(homeNetCidrs='["10.0.0.0/8", "172.16.0.0/12"]', domainRuleGroupCapacity="30000")
    domains = rendered.by_name("nfw-blocklist-domains-strict")
    assert domains.inputs["capacity"] == 30000
    assert domains.inputs["ruleGroup"]["ruleVariables"] == {
        "ipSets": [{"key": "HOME_NET", "ipSet": {"definitions": ["10.0.0.0/8", "172.16.0.0/12"]}}]
    }
    assert _ignored("ruleGroup.rulesSource.rulesSourceList.targets", domains.ignore_changes), domains.urn


def test_no_domain_group_without_network_firewall_domain_blocking(render_dev):
    rendered = render_dev(domainBlocking="off")
    assert [group.name for group in rendered.of_type(RULE_GROUP)] == ["nfw-blocklist-rules"]
    assert "domainRuleGroupArn" not in rendered.outputs


def test_ledger_is_keyed_by_host_with_the_two_indexes_the_handlers_query(table):
    assert table.inputs["hashKey"] == schema.HASH_KEY
    indexes = {index["name"]: index for index in table.inputs["globalSecondaryIndexes"]}
    assert indexes[schema.EXPIRY_INDEX]["projectionType"] == "ALL"
    assert indexes[schema.EXPIRY_INDEX]["keySchemas"] == [
        {"attributeName": schema.EXPIRY_INDEX_HASH_KEY, "keyType": "HASH"},
        {"attributeName": schema.EXPIRY_INDEX_RANGE_KEY, "keyType": "RANGE"},
    ]
    assert indexes[schema.PENDING_INDEX]["projectionType"] == "INCLUDE"
    assert indexes[schema.PENDING_INDEX]["nonKeyAttributes"] == [schema.PENDING_SINCE]
    assert indexes[schema.PENDING_INDEX]["keySchemas"] == [
        {"attributeName": schema.PENDING_INDEX_HASH_KEY, "keyType": "HASH"},
        {"attributeName": schema.PENDING_INDEX_RANGE_KEY, "keyType": "RANGE"},
    ]


def test_ledger_declares_exactly_the_key_attributes(table):
    assert {(a["name"], a["type"]) for a in table.inputs["attributes"]} == set(schema.KEY_ATTRIBUTES)


def test_ledger_is_on_demand_encrypted_recoverable_and_expires_items(table):
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["ttl"] == {"attributeName": schema.TTL_ATTRIBUTE, "enabled": True}


def test_home_net_needs_the_domain_group(construct):
    with pytest.raises(
        ValueError,
        match=re.escape("BlocklistRuleGroup 'x': homeNetCidrs (home_net_cidrs) applies to the domain group"),
    ):
        construct(BlocklistRuleGroup, {"home_net_cidrs": ["10.0.0.0/8"]})


def test_the_programs_policy_moves_to_a_group_only_after_the_repopulation_filled_it(render_dev):
    # A capacity change creates an empty group; the policy must not reference it before the ledger's
    # hosts are restored into it (issue 17, item 4).
    rendered = render_dev(createFirewallPolicy="true")
    (policy,) = rendered.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    (repopulation,) = rendered.of_type("aws:lambda/invocation:Invocation")

    assert repopulation.urn in policy.dependencies, policy.urn
    # Still the rule group component's child: an existing stack's policy keeps its URN (no replacement).
    assert str(policy.parent).endswith("BlocklistRuleGroup::nfw-blocklist"), policy.urn
