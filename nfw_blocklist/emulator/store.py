"""Rule groups of one account and region: the state behind the emulated API, and its concurrency rules.

Each rule group's content, token and consumed capacity form one immutable `RuleGroupVersion`; an update
swaps in a new version. Readers take the current version with a single attribute read, so a describe
never sees a token that does not belong to the content beside it and never waits on a writer. Writers
serialise per rule group only around the token check and the swap (the compare-and-swap AWS performs),
after validation and after any injected latency, so unrelated calls never queue behind each other.
"""

import base64
import copy
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .engine import FIREWALL
from .errors import InvalidRequestException, InvalidTokenException, ResourceNotFoundException
from .faults import Counters, FaultPlan
from .flow_operations import FlowOperations
from .policies import PolicyBook
from .policies_v2 import PolicyBookV2
from .rules import STATELESS, validate_capacity, validate_name, validate_rule_group, validate_type
from .stateful import rule_order

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class RuleGroupVersion:
    """One accepted state of a rule group; never mutated after construction."""

    rule_group: Mapping[str, Any]
    update_token: str
    consumed_capacity: int
    description: str | None
    last_modified: datetime


@dataclass
class StoredRuleGroup:
    """A rule group's fixed identity plus its current version."""

    arn: str
    name: str
    rule_group_id: str
    type: str
    capacity: int
    tags: list[dict[str, str]]
    version: RuleGroupVersion
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    deleted: bool = False

    def response(self, version: RuleGroupVersion | None = None, status: str = "ACTIVE") -> dict[str, Any]:
        """The API's RuleGroupResponse for `version` (the current one by default)."""
        version = version or self.version
        response: dict[str, Any] = {
            "RuleGroupArn": self.arn,
            "RuleGroupName": self.name,
            "RuleGroupId": self.rule_group_id,
            "Type": self.type,
            "Capacity": self.capacity,
            "ConsumedCapacity": version.consumed_capacity,
            "NumberOfAssociations": 0,
            "RuleGroupStatus": status,
            "Tags": copy.deepcopy(self.tags),
            "LastModifiedTime": version.last_modified,
        }
        if version.description is not None:
            response["Description"] = version.description
        return response


class RuleGroupStore:
    """All emulated rule groups of one backend, with that backend's fault plan and counters."""

    def __init__(self, account_id: str, region_name: str, partition: str = "aws") -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.partition = partition
        self.faults = FaultPlan()
        self.counters = Counters()
        self._groups: dict[str, StoredRuleGroup] = {}
        self._registry_lock = threading.Lock()
        self.policies = PolicyBook(self)
        """The firewall policies of this account and region (``policies.py``)."""
        self.policies_v2 = PolicyBookV2(self)
        """The Next Generation policies of this account and region (``policies_v2.py``)."""
        self.flows = FlowOperations()
        """StartFlowFlush operations of this account and region (``flow_operations.py``)."""

    def arn_for(self, name: str, rule_group_type: str) -> str:
        # The FIREWALL ARN's resource type is not documented (docs/LIMITS.md): names are unique per type,
        # so it must differ from the stateful one.
        kind = {STATELESS: "stateless-rulegroup", FIREWALL: "firewall-rulegroup"}.get(
            rule_group_type, "stateful-rulegroup"
        )
        return f"arn:{self.partition}:network-firewall:{self.region_name}:{self.account_id}:{kind}/{name}"

    def create(
        self,
        *,
        name: str,
        rule_group_type: str,
        capacity: int,
        rule_group: Mapping[str, Any],
        description: str | None = None,
        tags: list[dict[str, str]] | None = None,
        dry_run: bool = False,
    ) -> StoredRuleGroup:
        """Validate fully; store unless `dry_run` (then the returned group is what would have been made)."""
        validate_name(name)
        validate_type(rule_group_type)
        validate_capacity(rule_group_type, capacity)
        consumed = validate_rule_group(rule_group_type, rule_group, capacity)
        group = StoredRuleGroup(
            arn=self.arn_for(name, rule_group_type),
            name=name,
            rule_group_id=str(uuid.uuid4()),
            type=rule_group_type,
            capacity=capacity,
            tags=_validated_tags(tags),
            version=RuleGroupVersion(
                rule_group=copy.deepcopy(dict(rule_group)),
                update_token=str(uuid.uuid4()),
                consumed_capacity=consumed,
                description=description,
                last_modified=datetime.now(UTC),
            ),
        )
        with self._registry_lock:
            if group.arn in self._groups:
                raise InvalidRequestException(
                    f"A {rule_group_type} rule group named {name!r} already exists in this account and region"
                )
            if not dry_run:
                self._groups[group.arn] = group
        return group

    def get(
        self, *, arn: str | None = None, name: str | None = None, rule_group_type: str | None = None
    ) -> StoredRuleGroup:
        """Find by ARN, or by name and type (AWS needs the type with a name: names are unique per type).

        A Type that contradicts the ARN's group is refused when either side is FIREWALL: a Classic writer
        must never read a Next Generation group as its own, nor the reverse."""
        stored_type = self._type_of(arn) if arn else None
        mixed = rule_group_type and stored_type and FIREWALL in (rule_group_type, stored_type)
        if mixed and rule_group_type != stored_type:
            raise InvalidRequestException(
                f"rule group ARN is of incorrect entity type, parameter: [{arn}], "
                f"context: Type={rule_group_type}"
            )
        if not arn:
            if not name:
                raise InvalidRequestException("Specify RuleGroupArn, or RuleGroupName and Type")
            if not rule_group_type:
                raise InvalidRequestException("Type is required when the rule group is identified by name")
            arn = self.arn_for(name, validate_type(rule_group_type))
        with self._registry_lock:
            group = self._groups.get(arn)
        if group is None:
            raise ResourceNotFoundException(f"Rule group not found: {arn}")
        return group

    def _type_of(self, arn: str) -> str | None:
        with self._registry_lock:
            group = self._groups.get(arn)
        return group.type if group else None

    def update(
        self,
        group: StoredRuleGroup,
        *,
        update_token: str,
        rule_group: Mapping[str, Any],
        description: str | None = None,
        dry_run: bool = False,
        inject_conflict: bool = False,
    ) -> RuleGroupVersion:
        """Compare the token and swap in the new version, atomically; returns the version now current.

        Validation runs first and outside the lock (it reads only the fixed capacity). A dry run checks the
        token too but changes nothing and returns the would-be version with the token unchanged.
        `inject_conflict` loses the race on purpose (only when the token is otherwise current).
        """
        consumed = validate_rule_group(group.type, rule_group, group.capacity)
        candidate = copy.deepcopy(dict(rule_group))
        if group.type != STATELESS:
            self._check_rule_order_kept(group, candidate)
        with group.lock:
            if group.deleted:
                raise ResourceNotFoundException(f"Rule group not found: {group.arn}")
            current = group.version
            if update_token != current.update_token:
                self.counters.record("token_conflicts")
                raise InvalidTokenException()
            if inject_conflict:
                self.counters.record("injected_token_conflicts")
                raise InvalidTokenException()
            proposed = RuleGroupVersion(
                rule_group=candidate,
                update_token=current.update_token if dry_run else str(uuid.uuid4()),
                consumed_capacity=consumed,
                description=current.description if description is None else description,
                last_modified=current.last_modified if dry_run else datetime.now(UTC),
            )
            if dry_run:
                return proposed
            group.version = proposed
        self.counters.record("successful_updates")
        return proposed

    def _check_rule_order_kept(self, group: StoredRuleGroup, candidate: Mapping[str, Any]) -> None:
        """An update that leaves out (or changes) a stateful group's StatefulRuleOptions would change its rule
        order; the conservative reading of AWS (a STRICT_ORDER group updated without its options is refused
        with "parameter is invalid", aws/aws-cli#7301) refuses it, so writers must carry the options over."""
        current = rule_order(group.version.rule_group.get("StatefulRuleOptions"))
        proposed = rule_order(candidate.get("StatefulRuleOptions"))
        if proposed != current:
            raise InvalidRequestException(
                f"parameter is invalid, parameter: [{proposed}], context: the rule group's rule order is "
                f"{current} and cannot change"
            )

    def delete(self, group: StoredRuleGroup) -> StoredRuleGroup:
        """Remove the group; an update racing with it fails with ResourceNotFoundException. A group a
        firewall policy references cannot be deleted."""
        users = [policy.name for policy in self.policies.referencing(group.arn)] + [
            policy.name for policy in self.policies_v2.referencing(group.arn)
        ]
        if users:
            raise InvalidRequestException(
                f"Unable to delete the object because it is still in use, parameter: [{group.arn}], "
                f"context: referenced by firewall policy {users[0]}"
            )
        with group.lock, self._registry_lock:
            if group.deleted or self._groups.get(group.arn) is not group:
                raise ResourceNotFoundException(f"Rule group not found: {group.arn}")
            group.deleted = True
            del self._groups[group.arn]
        return group

    def list_page(
        self,
        *,
        rule_group_type: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[StoredRuleGroup], str | None]:
        """One page in ARN order; the token is the last ARN returned, so deletes between pages do no harm."""
        limit = MAX_PAGE_SIZE if max_results is None else max_results
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequestException(f"MaxResults must be 1-{MAX_PAGE_SIZE}, got {limit}")
        after = _decode_page_token(next_token) if next_token else ""
        if rule_group_type is not None:
            validate_type(rule_group_type)
        with self._registry_lock:
            groups = sorted(self._groups.values(), key=lambda group: group.arn)
        selected = [
            group
            for group in groups
            if group.arn > after and (rule_group_type is None or group.type == rule_group_type)
        ]
        page = selected[:limit]
        more = len(selected) > limit
        return page, (_encode_page_token(page[-1].arn) if more else None)

    def with_version(self, group: StoredRuleGroup, version: RuleGroupVersion) -> StoredRuleGroup:
        """A detached copy of `group` showing `version` (used to answer dry runs)."""
        return replace(group, version=version, lock=threading.Lock())


def _validated_tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    for tag in tags or []:
        if not isinstance(tag.get("Key"), str) or not isinstance(tag.get("Value"), str):
            raise InvalidRequestException(f"Tags: each tag needs a string Key and Value, got {tag!r}")
    return copy.deepcopy(list(tags or []))


def _encode_page_token(last_arn: str) -> str:
    return base64.urlsafe_b64encode(last_arn.encode()).decode()


def _decode_page_token(token: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestException("NextToken is invalid") from error
    if not decoded.startswith("arn:"):
        raise InvalidRequestException("NextToken is invalid")
    return decoded
