"""Firewall policies: what Network Firewall refuses when a policy references rule groups.

Like ``rules.py`` an independent statement of AWS's rules, kept to what a policy of this program (or an
operator's policy holding its groups) meets:
- every reference names a rule group that exists, of the engine it is listed under (a stateful group
  under StatelessRuleGroupReferences is "rule group ARN is of incorrect entity type");
- stateless references carry a Priority, 1-65535, unique in the policy;
- the stateful engine's order is ``StatefulEngineOptions.RuleOrder`` (absent: DEFAULT_ACTION_ORDER); a
  stateful group joins only a policy of its own order ("The settings for your rule groups must match the
  settings for the firewall policy that they belong to": Network Firewall developer guide, "Managing
  evaluation order for Suricata compatible rules"). The text of that refusal is not documented; the
  emulator answers InvalidRequestException in the "parameter: [...], context: [...]" form AWS uses for
  its other reference errors;
- under DEFAULT_ACTION_ORDER a stateful reference takes no Priority ("Priority cannot be provided,
  parameter: [1], context: StatefulRuleGroupReferences[0][Priority=1]", as AWS answers); under
  STRICT_ORDER it needs one, 1-65535, unique in the policy;
- a rule group a policy references cannot be deleted, and its rule order cannot change.
"""

import copy
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import InvalidRequestException, InvalidTokenException, ResourceNotFoundException
from .rules import MAX_PRIORITY, MIN_PRIORITY, STATEFUL, STATELESS, validate_name
from .stateful import DEFAULT_RULE_ORDER, rule_order

if TYPE_CHECKING:
    from .store import RuleGroupStore, StoredRuleGroup

STRICT_ORDER = "STRICT_ORDER"


@dataclass
class StoredPolicy:
    arn: str
    name: str
    policy_id: str
    firewall_policy: Mapping[str, Any]
    update_token: str
    description: str | None

    def response(self, status: str = "ACTIVE", prefix: str = "FirewallPolicy") -> dict[str, Any]:
        """The policy as the API answers it; ``prefix`` begins its keys (FirewallPolicy, FirewallPolicyV2)."""
        response: dict[str, Any] = {
            f"{prefix}Name": self.name,
            f"{prefix}Arn": self.arn,
            f"{prefix}Id": self.policy_id,
            f"{prefix}Status": status,
        }
        if self.description is not None:
            response["Description"] = self.description
        return response

    def referenced_arns(self) -> set[str]:
        return {
            str(reference.get("ResourceArn"))
            for key in ("StatelessRuleGroupReferences", "StatefulRuleGroupReferences")
            for reference in self.firewall_policy.get(key) or []
        }


P = TypeVar("P", bound=StoredPolicy)


class PolicyBookBase(Generic[P]):
    """What Classic and Next Generation policies share: a name's ARN, the book, the update token."""

    _resource: str
    """The ARN's resource type."""
    _label: str
    """How errors name a policy: "firewall policy", "Next Generation policy"."""
    _parameter: str
    """The API's name of the policy document: "FirewallPolicy", "FirewallPolicyV2"."""
    _policy_type: type[P]

    def __init__(self, groups: "RuleGroupStore") -> None:
        self.groups = groups
        self._policies: dict[str, P] = {}
        self._lock = threading.Lock()

    def arn_for(self, name: str) -> str:
        store = self.groups
        scope = f"{store.partition}:network-firewall:{store.region_name}:{store.account_id}"
        return f"arn:{scope}:{self._resource}/{name}"

    def validate(self, firewall_policy: Any) -> Any:
        """Refuse what AWS refuses; what ``_checked`` records on the policy otherwise."""
        raise NotImplementedError

    def _checked(self, policy: P, checked: Any) -> None:
        """Record on the policy what ``validate`` found (nothing, for a Classic policy)."""

    def create(
        self, *, name: str, firewall_policy: Any, description: str | None = None, dry_run: bool = False
    ) -> P:
        validate_name(name)
        checked = self.validate(firewall_policy)
        policy = self._policy_type(
            arn=self.arn_for(name),
            name=name,
            policy_id=str(uuid.uuid4()),
            firewall_policy=copy.deepcopy(dict(firewall_policy)),
            update_token=str(uuid.uuid4()),
            description=description,
        )
        self._checked(policy, checked)
        with self._lock:
            if policy.arn in self._policies:
                raise InvalidRequestException(f"A {self._label} named {name!r} already exists")
            if not dry_run:
                self._policies[policy.arn] = policy
        return policy

    def get(self, *, arn: str | None = None, name: str | None = None) -> P:
        arn = arn or (self.arn_for(name) if name else None)
        if not arn:
            raise InvalidRequestException(f"Specify {self._parameter}Arn or {self._parameter}Name")
        with self._lock:
            policy = self._policies.get(arn)
        if policy is None:
            raise ResourceNotFoundException(f"{self._label[:1].upper()}{self._label[1:]} not found: {arn}")
        return policy

    def update(self, policy: P, *, update_token: str, firewall_policy: Any, dry_run: bool = False) -> P:
        checked = self.validate(firewall_policy)
        with self._lock:
            if update_token != policy.update_token:
                raise InvalidTokenException()
            if dry_run:
                return policy
            policy.firewall_policy = copy.deepcopy(dict(firewall_policy))
            self._checked(policy, checked)
            policy.update_token = str(uuid.uuid4())
        return policy

    def delete(self, policy: P) -> P:
        with self._lock:
            self._policies.pop(policy.arn, None)
        return policy

    def referencing(self, group_arn: str) -> list[P]:
        with self._lock:
            return [policy for policy in self._policies.values() if group_arn in policy.referenced_arns()]


def check_priority(priority: Any, context: str, priorities: set[int]) -> None:
    """A Priority 1-65535, not yet in ``priorities`` (which it joins), or InvalidRequestException."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidRequestException(f"Priority is required, context: {context}")
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY or priority in priorities:
        raise InvalidRequestException(
            f"Priority must be unique and {MIN_PRIORITY}-{MAX_PRIORITY}, parameter: [{priority}], "
            f"context: {context}"
        )
    priorities.add(priority)


def referenced_group(groups: "RuleGroupStore", arn: str, context: str, kind: str) -> "StoredRuleGroup":
    """The rule group a policy references, which must exist and be of ``kind``."""
    try:
        group = groups.get(arn=arn)
    except ResourceNotFoundException:
        raise ResourceNotFoundException(
            f"Resource not found, parameter: [{arn}], context: {context}"
        ) from None
    if group.type != kind:
        raise InvalidRequestException(
            f"rule group ARN is of incorrect entity type, parameter: [{arn}], context: {context}"
        )
    return group


class PolicyBook(PolicyBookBase[StoredPolicy]):
    """The firewall policies of one account and region, checked against that region's rule groups."""

    _resource = "firewall-policy"
    _label = "firewall policy"
    _parameter = "FirewallPolicy"
    _policy_type = StoredPolicy

    def validate(self, firewall_policy: Any) -> None:
        if not isinstance(firewall_policy, Mapping):
            raise InvalidRequestException("FirewallPolicy must be an object")
        for key in ("StatelessDefaultActions", "StatelessFragmentDefaultActions"):
            if not firewall_policy.get(key):
                raise InvalidRequestException(f"FirewallPolicy.{key} is required")
        self._check_references(firewall_policy, "StatelessRuleGroupReferences", STATELESS, None)
        order = rule_order(firewall_policy.get("StatefulEngineOptions"))
        self._check_references(firewall_policy, "StatefulRuleGroupReferences", STATEFUL, order)

    def _check_references(
        self, firewall_policy: Mapping[str, Any], key: str, kind: str, order: str | None
    ) -> None:
        priorities: set[int] = set()
        for index, reference in enumerate(firewall_policy.get(key) or []):
            arn = str((reference or {}).get("ResourceArn") or "")
            context = f"{key}[{index}]"
            group = referenced_group(self.groups, arn, context, kind)
            priority = reference.get("Priority")
            if order is not None:
                group_order = rule_order(group.version.rule_group.get("StatefulRuleOptions"))
                if group_order != order:
                    raise InvalidRequestException(
                        f"Rule group's rule order {group_order} does not match the firewall policy's "
                        f"{order}, parameter: [{arn}], context: {context}"
                    )
                if order == DEFAULT_RULE_ORDER:
                    if priority is not None:
                        raise InvalidRequestException(
                            f"Priority cannot be provided, parameter: [{priority}], "
                            f"context: {context}[Priority={priority}]"
                        )
                    continue
            check_priority(priority, context, priorities)
