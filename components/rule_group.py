"""BlocklistRuleGroup: the stateless rule group the handlers write, and the ledger table behind it."""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components.constants import (
    DEFAULT_CAPACITY,
    MAX_STATELESS_CAPACITY,
    METRIC_ACTION_NAME,
    MIN_CAPACITY,
    PLACEHOLDER_CIDR,
    PLACEHOLDER_PRIORITY,
    TOKEN_PREFIX,
)
from components.limits import check_component_name
from handlers import schema
from handlers.enforcement import MAX_STATEFUL_CAPACITY, MIN_DOMAIN_CAPACITY, domain_rules_source
from handlers.rules import METRIC_DIMENSION_VALUE

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
PLACEHOLDER_ACTION: Final = "aws:forward_to_sfe"
"""What the placeholder rule does to its (never-seen) address: hand it to the stateful engine, as unmatched
traffic usually is, so it cannot drop or pass anything a policy would not."""


@dataclass
class BlocklistRuleGroupArgs:
    """Inputs of BlocklistRuleGroup."""

    capacity: int = DEFAULT_CAPACITY
    """Capacity units (2 per host, 1 for the placeholder); default 2000, 3..30000. Changing it REPLACES the
    rule group: the new group is created first, then the old one is deleted (or, without
    create_firewall_policy, kept for you to detach and delete)."""
    create_firewall_policy: bool = False
    """Also create a firewall policy that references the group; default False (attach it to yours). Also
    decides what happens to a replaced group: deleted once this policy references the new one, or kept
    (``retain_on_delete``) when a policy of yours may still reference it."""
    tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None
    """Tags for every child resource; default none."""
    domain_capacity: int | None = None
    """Capacity of a stateful domain-list rule group for blocked domains (2 units a domain, 2 for the list,
    4..30000); default none: no domain group. Changing it replaces that group, as for ``capacity``."""
    home_net_cidrs: Sequence[str] = ()
    """The domain group's ``HOME_NET`` (the clients whose traffic it inspects); default none: the firewall's
    own VPC. Set it to every VPC a central inspection VPC serves."""

    def validate(self) -> None:
        """Reject what Network Firewall would reject, before anything is created."""
        if isinstance(self.capacity, bool) or not MIN_CAPACITY <= self.capacity <= MAX_STATELESS_CAPACITY:
            raise ValueError(
                f"capacity must be from {MIN_CAPACITY} to {MAX_STATELESS_CAPACITY}, got {self.capacity}"
            )
        if self.domain_capacity is not None and (
            isinstance(self.domain_capacity, bool)
            or not MIN_DOMAIN_CAPACITY <= self.domain_capacity <= MAX_STATEFUL_CAPACITY
        ):
            raise ValueError(
                f"domain_capacity must be from {MIN_DOMAIN_CAPACITY} to {MAX_STATEFUL_CAPACITY}, "
                f"got {self.domain_capacity}"
            )
        for cidr in self.home_net_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise ValueError(f"home_net_cidrs: {cidr!r} is not a CIDR block") from None
        if self.home_net_cidrs and self.domain_capacity is None:
            raise ValueError("home_net_cidrs applies to the domain group: set domain_capacity too")


def initial_domain_rule_group(home_net_cidrs: Sequence[str]) -> dict[str, Any]:
    """The domain group as created: an empty deny list (its placeholder), and ``HOME_NET`` when set.

    The handlers own ``Targets`` from then on; ``HOME_NET`` is fixed with the group (``ignore_changes``:
    see ``UPDATED_WITH_TOKEN``), so a new value takes a new group (change ``domainRuleGroupCapacity``).
    """
    source = domain_rules_source([])["RulesSourceList"]
    group: dict[str, Any] = {
        "rules_source": {
            "rules_source_list": {
                "generated_rules_type": source["GeneratedRulesType"],
                "target_types": source["TargetTypes"],
                "targets": source["Targets"],
            }
        }
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
            "custom_actions": [
                {
                    "action_name": METRIC_ACTION_NAME,
                    "action_definition": {
                        "publish_metric_action": {"dimensions": [{"value": METRIC_DIMENSION_VALUE}]},
                    },
                }
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
    rule_group_name: pulumi.Output[str]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    firewall_policy_arn: pulumi.Output[str] | None
    domain_rule_group_arn: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: BlocklistRuleGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        args.validate()
        child = pulumi.ResourceOptions(parent=self)

        group = aws.networkfirewall.RuleGroup(
            f"{name}-rules",
            type="STATELESS",
            capacity=args.capacity,
            description="nfw-blocklist: drops hosts GuardDuty flagged; rules are managed by its functions",
            rule_group={"rules_source": initial_rules_source()},
            tags=args.tags,
            opts=rule_group_options(self, owns_policy=args.create_firewall_policy),
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
            tags=args.tags,
            opts=child,
        )
        self.rule_group_arn = group.arn
        self.rule_group_name = group.name
        self.table_name = table.name
        self.table_arn = table.arn
        self.firewall_policy_arn = None
        self.domain_rule_group_arn = None
        if args.domain_capacity is not None:
            domain_group = aws.networkfirewall.RuleGroup(
                f"{name}-domains",
                type="STATEFUL",
                capacity=args.domain_capacity,
                description="nfw-blocklist: denies domains from GuardDuty DNS findings",
                rule_group=initial_domain_rule_group(args.home_net_cidrs),
                tags=args.tags,
                opts=rule_group_options(self, owns_policy=args.create_firewall_policy),
            )
            self.domain_rule_group_arn = domain_group.arn
        if args.create_firewall_policy:
            policy_document: dict[str, Any] = {
                "stateless_default_actions": ["aws:forward_to_sfe"],
                "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
                "stateless_rule_group_references": [{"priority": 100, "resource_arn": group.arn}],
            }
            if self.domain_rule_group_arn is not None:
                # Default action order (no stateful engine options): a DENYLIST group's drop rules apply
                # to every flow the stateless default forwards, whatever other groups the policy holds.
                policy_document["stateful_rule_group_references"] = [
                    {"resource_arn": self.domain_rule_group_arn}
                ]
            policy = aws.networkfirewall.FirewallPolicy(
                f"{name}-policy",
                firewall_policy=policy_document,
                tags=args.tags,
                opts=child,
            )
            self.firewall_policy_arn = policy.arn

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
