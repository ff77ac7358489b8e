"""BlocklistRuleGroup: the group the handlers own after creation, and the ledger they query."""

import pytest

from components.rule_group import (
    RULES_PROPERTY,
    BlocklistRuleGroupArgs,
    initial_rules_source,
    placeholder_priority,
)
from handlers import schema
from handlers.rules import METRIC_ACTION_NAME, metric_custom_action

RULE_GROUP = "aws:networkfirewall/ruleGroup:RuleGroup"
TABLE = "aws:dynamodb/table:Table"


@pytest.fixture(scope="module")
def group(render_dev):
    (found,) = render_dev().of_type(RULE_GROUP)
    return found


@pytest.fixture(scope="module")
def table(render_dev):
    (found,) = render_dev().of_type(TABLE)
    return found


def test_rule_group_ignores_changes_to_its_rules_so_updates_never_unblock(group):
    assert group.ignore_changes == (RULES_PROPERTY,), group.urn
    assert RULES_PROPERTY == "ruleGroup.rulesSource"
    assert "rulesSource" in group.inputs["ruleGroup"], "the ignored path must exist in the inputs"


def test_rule_group_is_stateless_with_the_configured_capacity(group):
    assert (group.inputs["type"], group.inputs["capacity"], group.inputs["name"]) == (
        "STATELESS",
        2000,
        "nfw-blocklist",
    )


def test_capacity_override_reaches_the_rule_group(render_dev):
    (found,) = render_dev(ruleGroupCapacity="30000").of_type(RULE_GROUP)
    assert found.inputs["capacity"] == 30000


def test_rule_group_carries_the_metric_action_the_handlers_reference(group):
    actions = group.inputs["ruleGroup"]["rulesSource"]["statelessRulesAndCustomActions"]["customActions"]
    api = metric_custom_action()
    assert actions == [
        {
            "actionName": METRIC_ACTION_NAME,
            "actionDefinition": {
                "publishMetricAction": {
                    "dimensions": [
                        {"value": api["ActionDefinition"]["PublishMetricAction"]["Dimensions"][0]["Value"]}
                    ]
                }
            },
        }
    ]


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


def test_placeholder_moves_aside_when_the_destination_rule_takes_the_last_priority():
    assert placeholder_priority(30000) == 65535
    assert placeholder_priority(65435) == 65534
    rules = initial_rules_source(65435)["stateless_rules_and_custom_actions"]["stateless_rules"]
    assert rules[0]["priority"] == 65534


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (BlocklistRuleGroupArgs(capacity=1), "capacity must be from 2 to 30000"),
        (BlocklistRuleGroupArgs(capacity=30001), "capacity must be from 2 to 30000"),
        (BlocklistRuleGroupArgs(source_priority=0), "source_priority must be from 1 to 65435"),
        (BlocklistRuleGroupArgs(source_priority=65436), "source_priority must be from 1 to 65435"),
    ],
)
def test_invalid_arguments_are_refused_before_anything_is_created(args, message):
    with pytest.raises(ValueError, match=message):
        args.validate()


def test_no_firewall_policy_by_default(render_dev):
    assert render_dev().of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy") == []
    assert "firewallPolicyArn" not in render_dev().outputs


def test_firewall_policy_references_the_group_when_asked(render_dev, group):
    rendered = render_dev(createFirewallPolicy="true")
    (policy,) = rendered.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    references = policy.inputs["firewallPolicy"]["statelessRuleGroupReferences"]
    assert references == [{"priority": 100, "resourceArn": group.state["arn"]}]
    assert rendered.outputs["firewallPolicyArn"] == policy.state["arn"]


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
