"""BlocklistRuleGroup: the stateless rule group the handlers write, and the ledger table behind it."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.config import (
    InvalidConfig,
    label,
    read_bool,
    read_capacity,
    read_choice,
    read_domain_capacity,
    read_home_net,
)
from components.constants import (
    PLACEHOLDER_CIDR,
    PLACEHOLDER_PRIORITY,
    TOKEN_PREFIX,
    StatefulRuleOrder,
)
from components.firewall_engine import FirewallPolicyV2, FirewallRuleGroup
from components.inputs import ArgsReader
from components.limits import check_component_name
from handlers import schema
from handlers.enforcement import domain_rules_source
from handlers.rules import our_custom_actions
from handlers.settings import FirewallPolicyType

TOKEN: Final = f"{TOKEN_PREFIX}:BlocklistRuleGroup"
RULES_PROPERTY: Final = "ruleGroup.rulesSource"
"""The engine's path to the rules and custom actions; the handlers own them after creation."""
UPDATED_WITH_TOKEN: Final = ("ruleGroup", "description", "encryptionConfiguration", "rules")
"""Every RuleGroup input the provider changes with UpdateRuleGroup, which sends the UpdateToken saved in
Pulumi's state. That token is stale as soon as a function has written the group, so such an update would
fail with InvalidTokenException: the component never updates them (``ignore_changes``). ``ruleGroup``
holds the rules (``RULES_PROPERTY``), which the handlers own anyway. The other inputs either replace the
group (``capacity``, ``name``, ``type``, ``region``) or are updated without the token (``tags``, through
TagResource)."""
DOMAIN_GROUP_POLICY_PRIORITY: Final = 100
"""The domain group's place among a strict-order policy's stateful groups (the program's policy has one)."""
DOMAIN_GROUP_SUFFIXES: Final = {
    StatefulRuleOrder.DEFAULT_ACTION_ORDER: "-domains",
    StatefulRuleOrder.STRICT_ORDER: "-domains-strict",
}
"""The domain group's logical name per rule order. A group's order is fixed with it (``ruleGroup`` is
ignored after creation, so neither an update nor ``replace_on_changes`` on it would ever reach AWS): a
new order is a new logical name, so Pulumi creates the new group, moves the policy to it, and only then
deletes (or, without the program's policy, keeps) the old one. ``-domains`` stays the name of the
default-action-order group every stack had before the order could be chosen."""
PLACEHOLDER_ACTION: Final = "aws:forward_to_sfe"
"""What the placeholder rule does to its (never-seen) address: hand it to the stateful engine, as unmatched
traffic usually is, so it cannot drop or pass anything a policy would not."""


class BlocklistRuleGroupArgs(TypedDict):
    """Inputs of BlocklistRuleGroup."""

    capacity: NotRequired[pulumi.Input[int]]
    """Capacity units (2 per host, 1 for the placeholder); default 2000, 3..30000. Changing it REPLACES the
    rule group: the new group is created first, then the old one is deleted (or, without
    createFirewallPolicy, kept for you to detach and delete)."""
    create_firewall_policy: NotRequired[bool]
    """Also create a firewall policy that references the group; default false (attach it to yours). Also
    decides what happens to a replaced group: deleted once this policy references the new one, or kept
    (retainOnDelete) when a policy of yours may still reference it. Plain: it decides what exists."""
    domain_capacity: NotRequired[int]
    """Capacity of a stateful domain-list rule group for blocked domains (2 units a domain, 2 for the list,
    4..30000); default none: no domain group. Changing it replaces that group, as for capacity. Plain: it
    decides whether the group exists."""
    stateful_rule_order: NotRequired[StatefulRuleOrder]
    """The rule order of the firewall policy the domain group joins: STRICT_ORDER (what AWS recommends and
    the console creates) or DEFAULT_ACTION_ORDER; default STRICT_ORDER. AWS accepts a stateful group only
    in a policy of its own order. The component's own policy (createFirewallPolicy) uses it too. Changing
    it replaces the domain group, as capacity does. Plain: it decides the group's logical name."""
    home_net_cidrs: NotRequired[Sequence[str]]
    """The domain group's HOME_NET (the clients whose traffic it inspects), CIDR blocks; default none: the
    firewall's own VPC. Set it to every VPC a central inspection VPC serves. Plain: fixed with the group."""
    firewall_policy_type: NotRequired[FirewallPolicyType]
    """classic (a STATELESS group, a STATEFUL domain list and a Classic policy) or next-generation (FIREWALL
    groups and, with createFirewallPolicy, a FirewallPolicyV2: ``components.firewall_engine``); default
    classic. Changing it replaces the groups. Plain: it decides which resources exist."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for every child resource; default none."""


def read_domain_group(values: Mapping[str, Any]) -> tuple[int | None, tuple[str, ...]]:
    """The domain group's capacity (None: no group) and HOME_NET, which needs the group."""
    capacity = read_domain_capacity(values, "domainCapacity") if "domainCapacity" in values else None
    home_net = read_home_net(values, "homeNetCidrs")
    if home_net and capacity is None:
        raise InvalidConfig(f"{label('homeNetCidrs')} applies to the domain group: set domainCapacity too")
    return capacity, home_net


def initial_domain_rule_group(
    home_net_cidrs: Sequence[str], rule_order: StatefulRuleOrder = StatefulRuleOrder.STRICT_ORDER
) -> dict[str, Any]:
    """The domain group as created: an empty deny list (its placeholder), its rule order, and ``HOME_NET``
    when set.

    The handlers own ``Targets`` from then on (and carry the rest of the group over as they describe it);
    ``HOME_NET`` and the order are fixed with the group (``ignore_changes``: see ``UPDATED_WITH_TOKEN``), so
    a new ``HOME_NET`` takes a new group (change ``domainRuleGroupCapacity``), and a new order gets one
    (``DOMAIN_GROUP_SUFFIXES``).
    """
    source = domain_rules_source([])["RulesSourceList"]
    group: dict[str, Any] = {
        "rules_source": {
            "rules_source_list": {
                "generated_rules_type": source["GeneratedRulesType"],
                "target_types": source["TargetTypes"],
                "targets": source["Targets"],
            }
        },
        "stateful_rule_options": {"rule_order": rule_order.value},
    }
    if home_net_cidrs:
        group["rule_variables"] = {
            "ip_sets": [{"key": "HOME_NET", "ip_set": {"definitions": list(home_net_cidrs)}}]
        }
    return group


def initial_rules_source() -> dict[str, Any]:
    """The rules the group is created with: the metric action and one placeholder rule.

    A stateless group needs at least one rule (``stateless_rules`` is required), but the handlers write
    the blocking rules only when there is a host to block. The placeholder matches a documentation-only
    address, sits at the last priority (no source priority reaches it) and is kept by the handlers, which
    replace only the rules they own.
    """
    return {
        "stateless_rules_and_custom_actions": {
            # Both modes' metric actions (``handlers.rules.our_custom_actions``): a switch of enforcement
            # then rewrites the owned rules only.
            "custom_actions": [
                {
                    "action_name": action["ActionName"],
                    "action_definition": {
                        "publish_metric_action": {
                            "dimensions": [
                                {
                                    "value": action["ActionDefinition"]["PublishMetricAction"]["Dimensions"][
                                        0
                                    ]["Value"]
                                }
                            ]
                        },
                    },
                }
                for action in our_custom_actions()
            ],
            "stateless_rules": [
                {
                    "priority": PLACEHOLDER_PRIORITY,
                    "rule_definition": {
                        "actions": [PLACEHOLDER_ACTION],
                        "match_attributes": {"sources": [{"address_definition": PLACEHOLDER_CIDR}]},
                    },
                }
            ],
        }
    }


def firewall_policy_document(
    rule_group_arn: pulumi.Input[str],
    domain_rule_group_arn: pulumi.Input[str] | None,
    rule_order: StatefulRuleOrder,
) -> dict[str, Any]:
    """The component's own policy: unmatched packets go on to the stateful engine (or the domain list never
    sees them), whose order is ``rule_order``; no stateful default action, so the policy blocks only what
    the groups deny. A strict-order policy places each stateful group by priority; a default-order one
    takes none (AWS refuses a priority there)."""
    document: dict[str, Any] = {
        "stateless_default_actions": ["aws:forward_to_sfe"],
        "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
        "stateless_rule_group_references": [{"priority": 100, "resource_arn": rule_group_arn}],
        "stateful_engine_options": {"rule_order": rule_order.value},
    }
    if domain_rule_group_arn is not None:
        reference: dict[str, Any] = {"resource_arn": domain_rule_group_arn}
        if rule_order is StatefulRuleOrder.STRICT_ORDER:
            reference["priority"] = DOMAIN_GROUP_POLICY_PRIORITY
        document["stateful_rule_group_references"] = [reference]
    return document


def rule_group_options(parent: pulumi.Resource, owns_policy: bool) -> pulumi.ResourceOptions:
    """Options of the rule group: the live rules belong to the handlers, and a replacement must succeed.

    Without ignoring the rules a later ``pulumi up`` (or one after ``pulumi refresh``) would reset the group
    to the placeholder and unblock every host; the other token-updated inputs are ignored because the token
    in Pulumi's state is stale (``UPDATED_WITH_TOKEN``). The group is auto-named, so a replacement (a
    capacity change) creates the new group before deleting the old one. AWS refuses to delete a group that a
    policy references: when the component owns the policy, that policy has moved to the new group by then;
    otherwise the old group is kept (``retain_on_delete``) for the operator to detach and delete.
    """
    return pulumi.ResourceOptions(
        parent=parent, ignore_changes=list(UPDATED_WITH_TOKEN), retain_on_delete=not owns_policy
    )


def ledger_attributes() -> list[dict[str, str]]:
    return [{"name": name, "type": type_} for name, type_ in schema.KEY_ATTRIBUTES]


def ledger_indexes() -> list[dict[str, Any]]:
    """The two GSIs the handlers query, named and keyed from handlers.schema."""
    return [
        {
            "name": schema.EXPIRY_INDEX,
            "key_schemas": [
                {"attribute_name": schema.EXPIRY_INDEX_HASH_KEY, "key_type": "HASH"},
                {"attribute_name": schema.EXPIRY_INDEX_RANGE_KEY, "key_type": "RANGE"},
            ],
            "projection_type": "ALL",
        },
        {
            "name": schema.PENDING_INDEX,
            "key_schemas": [
                {"attribute_name": schema.PENDING_INDEX_HASH_KEY, "key_type": "HASH"},
                {"attribute_name": schema.PENDING_INDEX_RANGE_KEY, "key_type": "RANGE"},
            ],
            "projection_type": "INCLUDE",
            "non_key_attributes": list(schema.PENDING_INDEX_PROJECTED),
        },
    ]


class BlocklistRuleGroup(pulumi.ComponentResource):
    """A stateless Network Firewall rule group that drops blocked hosts, and the ledger of those hosts.

    Pulumi creates the group with a placeholder rule and the ``BlocklistMetric`` custom action; from then on
    the handlers own its rules (``ignore_changes``). Attach ``rule_group_arn`` to your firewall policy, or set
    ``create_firewall_policy``. Changing ``capacity`` replaces the group: the new one is created first and
    starts with the placeholder, and ResponseStateMachine's repopulation (a prune invoked during the same
    ``pulumi up``) restores the ledger's hosts into it.
    """

    rule_group_arn: pulumi.Output[str]
    """The rule group: attach it to your firewall policy (or set createFirewallPolicy)."""
    rule_group_name: pulumi.Output[str]
    """The rule group's name (auto-named), the dimension of the functions' metrics."""
    table_name: pulumi.Output[str]
    """The ledger table's name (ResponseStateMachine's tableName)."""
    table_arn: pulumi.Output[str]
    """The ledger table's ARN (ResponseStateMachine's tableArn)."""
    firewall_policy_arn: pulumi.Output[str] | None
    """Only with createFirewallPolicy: the firewall policy that references the group."""
    domain_rule_group_arn: pulumi.Output[str] | None
    """Only with domainCapacity: the stateful domain-list rule group (ResponseStateMachine's
    domainRuleGroupArn); attach it to your firewall policy too."""

    def __init__(
        self,
        name: str,
        args: BlocklistRuleGroupArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        defer_policy: bool = False,
    ) -> None:
        """``defer_policy`` (Python only): with createFirewallPolicy, create the policy when
        ``create_firewall_policy`` is called, so that it can wait for resources made after this component
        (ResponseStateMachine's repopulation); the caller must call it."""
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        reader = ArgsReader("BlocklistRuleGroup", name, args)
        capacity = reader.settle(["capacity"], lambda values: read_capacity(values, "capacity"))
        owns_policy = reader.check(
            ["create_firewall_policy"], lambda values: read_bool(values, "createFirewallPolicy", False)
        )
        domain_capacity, home_net_cidrs = reader.check(
            ["domain_capacity", "home_net_cidrs"], read_domain_group
        )
        rule_order = reader.check(
            ["stateful_rule_order"],
            lambda values: read_choice(
                values, "statefulRuleOrder", StatefulRuleOrder, StatefulRuleOrder.STRICT_ORDER
            ),
        )
        policy_type = reader.check(
            ["firewall_policy_type"],
            lambda values: read_choice(
                values, "firewallPolicyType", FirewallPolicyType, FirewallPolicyType.CLASSIC
            ),
        )
        if policy_type is FirewallPolicyType.NEXT_GENERATION and home_net_cidrs:
            raise InvalidConfig(
                f"{label('homeNetCidrs')} applies to a Classic stateful domain list: a Next Generation "
                "firewall-engine domain list has no HOME_NET"
            )
        tags = reader.get("tags")
        child = pulumi.ResourceOptions(parent=self)
        self._next_generation = policy_type is FirewallPolicyType.NEXT_GENERATION
        if self._next_generation:
            group: Any = FirewallRuleGroup(
                f"{name}-rules", capacity, tags=tags, opts=rule_group_options(self, owns_policy)
            )
        else:
            group = aws.networkfirewall.RuleGroup(
                f"{name}-rules",
                type="STATELESS",
                capacity=capacity,
                description=(
                    "nfw-blocklist: drops hosts GuardDuty flagged; rules are managed by its functions"
                ),
                rule_group={"rules_source": initial_rules_source()},
                tags=tags,
                opts=rule_group_options(self, owns_policy=owns_policy),
            )
        table = aws.dynamodb.Table(
            f"{name}-ledger",
            billing_mode="PAY_PER_REQUEST",
            hash_key=schema.HASH_KEY,
            attributes=ledger_attributes(),
            global_secondary_indexes=ledger_indexes(),
            ttl={"attribute_name": schema.TTL_ATTRIBUTE, "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            tags=tags,
            opts=child,
        )
        self.rule_group_arn = group.arn
        self.rule_group_name = group.name
        self.table_name = table.name
        self.table_arn = table.arn
        self.firewall_policy_arn = None
        self.domain_rule_group_arn = None
        if domain_capacity is not None and self._next_generation:
            self.domain_rule_group_arn = FirewallRuleGroup(
                f"{name}-domains",
                domain_capacity,
                domains=True,
                tags=tags,
                opts=rule_group_options(self, owns_policy),
            ).arn
        elif domain_capacity is not None:
            domain_group = aws.networkfirewall.RuleGroup(
                f"{name}{DOMAIN_GROUP_SUFFIXES[rule_order]}",
                type="STATEFUL",
                capacity=domain_capacity,
                description="nfw-blocklist: denies domains from GuardDuty DNS findings",
                rule_group=initial_domain_rule_group(home_net_cidrs, rule_order),
                tags=tags,
                opts=rule_group_options(self, owns_policy=owns_policy),
            )
            self.domain_rule_group_arn = domain_group.arn
        self._policy_parts = (name, group.arn, self.domain_rule_group_arn, rule_order, tags)
        self._release_policy_arn: Callable[[pulumi.Output[str]], None] | None = None
        if owns_policy and defer_policy:
            self.firewall_policy_arn, self._release_policy_arn = pulumi.deferred_output()
        elif owns_policy:
            self.firewall_policy_arn = self._firewall_policy(after=[])

        outputs: dict[str, Any] = {
            "rule_group_arn": self.rule_group_arn,
            "rule_group_name": self.rule_group_name,
            "table_name": self.table_name,
            "table_arn": self.table_arn,
        }
        if self.firewall_policy_arn is not None:
            outputs["firewall_policy_arn"] = self.firewall_policy_arn
        if self.domain_rule_group_arn is not None:
            outputs["domain_rule_group_arn"] = self.domain_rule_group_arn
        self.register_outputs(outputs)

    def create_firewall_policy(self, after: Sequence[pulumi.Resource]) -> None:
        """The deferred policy (``defer_policy``), created once every resource in ``after`` is.

        After ResponseStateMachine's repopulation, the policy moves to a new group (a capacity or rule order
        change) only once the ledger's hosts are back in it: moved earlier, the firewall would enforce the
        new group while it holds nothing but the placeholder.
        """
        if self._release_policy_arn is None:
            raise RuntimeError("create_firewall_policy needs createFirewallPolicy and defer_policy=True")
        release, self._release_policy_arn = self._release_policy_arn, None
        release(self._firewall_policy(after))

    def _firewall_policy(self, after: Sequence[pulumi.Resource]) -> pulumi.Output[str]:
        name, group_arn, domain_group_arn, rule_order, tags = self._policy_parts
        if self._next_generation:
            return FirewallPolicyV2(
                f"{name}-policy",
                group_arn,
                domain_group_arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
            ).arn
        policy = aws.networkfirewall.FirewallPolicy(
            f"{name}-policy",
            firewall_policy=firewall_policy_document(group_arn, domain_group_arn, rule_order),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )
        return policy.arn
