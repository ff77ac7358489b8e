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

import copy
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .engine import FIREWALL, MAX_FIREWALL_CAPACITY, validate_firewall_rule_group
from .errors import InvalidRequestException, InvalidTokenException, ResourceNotFoundException
from .rules import MAX_PRIORITY, MIN_PRIORITY, validate_name

if TYPE_CHECKING:
    from .store import RuleGroupStore

IPS = "IPS"
POLICY_MODES = frozenset({"ENFORCE", "MONITOR"})
DEFAULT_ACTIONS = frozenset({"DROP", "ACCEPT", "REJECT", "ALERT"})


@dataclass
class StoredPolicyV2:
    arn: str
    name: str
    policy_id: str
    firewall_policy: Mapping[str, Any]
    update_token: str
    description: str | None
    consumed_firewall_capacity: int

    def response(self, status: str = "ACTIVE") -> dict[str, Any]:
        response: dict[str, Any] = {
            "FirewallPolicyV2Name": self.name,
            "FirewallPolicyV2Arn": self.arn,
            "FirewallPolicyV2Id": self.policy_id,
            "FirewallPolicyV2Status": status,
            "ConsumedFirewallRuleCapacity": self.consumed_firewall_capacity,
            "NumberOfAssociations": 0,
        }
        if self.description is not None:
            response["Description"] = self.description
        return response

    def referenced_arns(self) -> set[str]:
        return {
            str(entry.get("ResourceArn"))
            for key in ("FirewallRuleGroupEntries", "IpsRuleGroupEntries")
            for entry in self.firewall_policy.get(key) or []
            if entry.get("ResourceArn")
        }


class PolicyBookV2:
    """The Next Generation policies of one account and region, checked against its rule groups."""

    def __init__(self, groups: "RuleGroupStore") -> None:
        self.groups = groups
        self._policies: dict[str, StoredPolicyV2] = {}
        self._lock = threading.Lock()

    def arn_for(self, name: str) -> str:
        store = self.groups
        scope = f"{store.partition}:network-firewall:{store.region_name}:{store.account_id}"
        # The V2 ARN's resource type is not documented; it must differ from a Classic policy's.
        return f"arn:{scope}:firewall-policy-v2/{name}"

    def create(
        self, *, name: str, firewall_policy: Any, description: str | None = None, dry_run: bool = False
    ) -> StoredPolicyV2:
        validate_name(name)
        consumed = self.validate(firewall_policy)
        policy = StoredPolicyV2(
            arn=self.arn_for(name),
            name=name,
            policy_id=str(uuid.uuid4()),
            firewall_policy=copy.deepcopy(dict(firewall_policy)),
            update_token=str(uuid.uuid4()),
            description=description,
            consumed_firewall_capacity=consumed,
        )
        with self._lock:
            if policy.arn in self._policies:
                raise InvalidRequestException(f"A Next Generation policy named {name!r} already exists")
            if not dry_run:
                self._policies[policy.arn] = policy
        return policy

    def get(self, *, arn: str | None = None, name: str | None = None) -> StoredPolicyV2:
        arn = arn or (self.arn_for(name) if name else None)
        if not arn:
            raise InvalidRequestException("Specify FirewallPolicyV2Arn or FirewallPolicyV2Name")
        with self._lock:
            policy = self._policies.get(arn)
        if policy is None:
            raise ResourceNotFoundException(f"Next Generation policy not found: {arn}")
        return policy

    def update(
        self, policy: StoredPolicyV2, *, update_token: str, firewall_policy: Any, dry_run: bool = False
    ) -> StoredPolicyV2:
        consumed = self.validate(firewall_policy)
        with self._lock:
            if update_token != policy.update_token:
                raise InvalidTokenException()
            if dry_run:
                return policy
            policy.firewall_policy = copy.deepcopy(dict(firewall_policy))
            policy.consumed_firewall_capacity = consumed
            policy.update_token = str(uuid.uuid4())
        return policy

    def delete(self, policy: StoredPolicyV2) -> StoredPolicyV2:
        with self._lock:
            self._policies.pop(policy.arn, None)
        return policy

    def referencing(self, group_arn: str) -> list[StoredPolicyV2]:
        with self._lock:
            return [policy for policy in self._policies.values() if group_arn in policy.referenced_arns()]

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
            priority = (entry or {}).get("Priority")
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise InvalidRequestException(f"Priority is required, context: {context}")
            if not MIN_PRIORITY <= priority <= MAX_PRIORITY or priority in priorities:
                raise InvalidRequestException(
                    f"Priority must be unique and {MIN_PRIORITY}-{MAX_PRIORITY}, parameter: [{priority}], "
                    f"context: {context}"
                )
            priorities.add(priority)
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
        try:
            group = self.groups.get(arn=str(arn))
        except ResourceNotFoundException:
            raise ResourceNotFoundException(
                f"Resource not found, parameter: [{arn}], context: {context}"
            ) from None
        if group.type != kind:
            raise InvalidRequestException(
                f"rule group ARN is of incorrect entity type, parameter: [{arn}], context: {context}"
            )
        return group.capacity
