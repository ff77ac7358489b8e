"""Next Generation policies (``FirewallPolicyV2``): what Network Firewall refuses when one references rule
groups. An independent statement of AWS's rules, like ``policies.py``:

- the firewall section (``FirewallRuleGroupEntries``) references rule groups of type FIREWALL only, and the
  IPS section (``IpsRuleGroupEntries``) groups of type IPS only: any other group is "rule group ARN is of
  incorrect entity type", as a Classic policy answers a stateful group listed as stateless (the Classic
  policy refuses a FIREWALL group the same way, ``policies.py``). Each entry holds exactly one of
  ResourceArn or InlineRuleGroup (botocore model); an inline firewall group can't use a domain list;
- each firewall entry has a Priority, 1-65535, unique in the section (botocore model: "Each entry in the
  firewall section must have a unique priority"); IPS entries take none;
- the firewall section reserves each referenced group's Capacity (inline groups: what they consume), at
  most 30,000 (developer guide, "Setting rule group capacity": 30,000 rules for the firewall engine);
- PolicyMode is ENFORCE or MONITOR; FirewallDefaultAction DROP, ACCEPT, REJECT or ALERT;
- a referenced group cannot be deleted (``store.delete``); UpdateToken rotates on every update.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .engine import FIREWALL, MAX_FIREWALL_CAPACITY, validate_firewall_rule_group
from .errors import InvalidRequestException
from .policies import PolicyBookBase, StoredPolicy, check_priority, referenced_group

IPS = "IPS"
POLICY_MODES = frozenset({"ENFORCE", "MONITOR"})
DEFAULT_ACTIONS = frozenset({"DROP", "ACCEPT", "REJECT", "ALERT"})


@dataclass
class StoredPolicyV2(StoredPolicy):
    consumed_firewall_capacity: int = 0

    def response(self, status: str = "ACTIVE", prefix: str = "FirewallPolicyV2") -> dict[str, Any]:
        return {
            **super().response(status, prefix),
            "ConsumedFirewallRuleCapacity": self.consumed_firewall_capacity,
            "NumberOfAssociations": 0,
        }

    def referenced_arns(self) -> set[str]:
        return {
            str(entry.get("ResourceArn"))
            for key in ("FirewallRuleGroupEntries", "IpsRuleGroupEntries")
            for entry in self.firewall_policy.get(key) or []
            if entry.get("ResourceArn")
        }


class PolicyBookV2(PolicyBookBase[StoredPolicyV2]):
    """The Next Generation policies of one account and region, checked against its rule groups."""

    # The V2 ARN's resource type is not documented; it must differ from a Classic policy's.
    _resource = "firewall-policy-v2"
    _label = "Next Generation policy"
    _parameter = "FirewallPolicyV2"
    _policy_type = StoredPolicyV2

    def _checked(self, policy: StoredPolicyV2, checked: int) -> None:
        policy.consumed_firewall_capacity = checked

    def validate(self, firewall_policy: Any) -> int:
        """Refuse what AWS refuses; the firewall section's reserved capacity otherwise."""
        if not isinstance(firewall_policy, Mapping):
            raise InvalidRequestException("FirewallPolicyV2 must be an object")
        mode = firewall_policy.get("PolicyMode")
        if mode is not None and mode not in POLICY_MODES:
            raise InvalidRequestException(f"PolicyMode {mode!r} is invalid: use ENFORCE or MONITOR")
        default = firewall_policy.get("FirewallDefaultAction")
        if default is not None and default not in DEFAULT_ACTIONS:
            raise InvalidRequestException(f"FirewallDefaultAction {default!r} is invalid")
        reserved = 0
        priorities: set[int] = set()
        for index, entry in enumerate(firewall_policy.get("FirewallRuleGroupEntries") or []):
            context = f"FirewallRuleGroupEntries[{index}]"
            check_priority((entry or {}).get("Priority"), context, priorities)
            reserved += self._entry_capacity(entry, context, FIREWALL)
        for index, entry in enumerate(firewall_policy.get("IpsRuleGroupEntries") or []):
            context = f"IpsRuleGroupEntries[{index}]"
            if (entry or {}).get("Priority") is not None:
                raise InvalidRequestException(f"Priority cannot be provided, context: {context}")
            self._entry_capacity(entry, context, IPS)
        if reserved > MAX_FIREWALL_CAPACITY:
            raise InvalidRequestException(
                f"The firewall section reserves {reserved} capacity units, over the firewall engine's "
                f"{MAX_FIREWALL_CAPACITY}"
            )
        return reserved

    def _entry_capacity(self, entry: Mapping[str, Any], context: str, kind: str) -> int:
        arn, inline = entry.get("ResourceArn"), entry.get("InlineRuleGroup")
        if bool(arn) == bool(inline):
            raise InvalidRequestException(
                f"Provide exactly one of ResourceArn or InlineRuleGroup, context: {context}"
            )
        if inline:
            if kind != FIREWALL:
                raise InvalidRequestException(f"Inline IPS rule groups are not emulated, context: {context}")
            if (inline.get("RulesSource") or {}).get("RulesSourceList"):
                raise InvalidRequestException(
                    f"An embedded rule group can't use a domain list rules source, context: {context}"
                )
            return validate_firewall_rule_group(inline, MAX_FIREWALL_CAPACITY)
        return referenced_group(self.groups, str(arn), context, kind).capacity
