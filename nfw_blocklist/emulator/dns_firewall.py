"""Route 53 Resolver DNS Firewall grafted onto moto's route53resolver service (test and sandbox code).

moto has no DNS Firewall operations. The functions keep a domain list in step with the ledger through
UpdateFirewallDomains ADD/REMOVE and read it back with ListFirewallDomains; the sandbox deploys the
list, a rule group, its BLOCK rule and one association per VPC. The emulator refuses what AWS refuses,
so a wiring or writer mistake fails a test here (see docs/LIMITS.md for the sources):

- domain syntax: an optional leading `*`, then only letters, digits, `-` and `.`; 1-255 characters;
- at most 1,000 domains per UpdateFirewallDomains call; REPLACE allowed but never used by the writer;
- the list is UPDATING after every update until it settles (`settle_seconds`, real time); another
  update meanwhile gets ConflictException (the Terraform provider waits UPDATING -> COMPLETE after every
  update; the API lists ConflictException for UpdateFirewallDomains);
- 100,000 domains across every list of the account and region (LimitExceededException);
- ListFirewallDomains pages of MaxResults 1-5,000 (default 100), other lists 1-100;
- rule priorities unique per rule group, 100 rules per group; BLOCK needs a BlockResponse, OVERRIDE its
  three override settings; association priorities 100-9900, unique per VPC, 5 rule groups per VPC,
  the VPC must exist in moto's EC2; MutationProtection ENABLED refuses disassociation.

ADD of a domain already present and REMOVE of an absent one succeed and change nothing (idempotent).

    from nfw_blocklist.emulator import dns_firewall
    dns_firewall.install()
    with mock_aws():
        dns_firewall.faults().set(throttle_next=2, token_conflict_rate=0.2, seed=1)   # conflicts
        dns_firewall.store().settle_seconds = 0.0
"""

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.route53resolver.models import Route53ResolverBackend, route53resolver_backends
from moto.route53resolver.responses import Route53ResolverResponse
from moto.utilities.utils import get_partition

from .errors import InternalServerError, ThrottlingException
from .faults import Counters, Decision, FaultPlan

DEFAULT_REGION = "us-east-1"

MAX_DOMAINS_PER_UPDATE = 1_000
ACCOUNT_DOMAIN_QUOTA = 100_000
MAX_DOMAIN_LENGTH = 255
MAX_RULES_PER_GROUP = 100
MAX_RULE_GROUPS_PER_VPC = 5
MIN_ASSOCIATION_PRIORITY = 100
MAX_ASSOCIATION_PRIORITY = 9_900
DOMAIN_PAGE_DEFAULT, DOMAIN_PAGE_MAX = 100, 5_000
PAGE_DEFAULT, PAGE_MAX = 100, 100
DEFAULT_SETTLE_SECONDS = 0.05
"""How long a list stays UPDATING after an update, in real time (AWS takes seconds; tests set 0)."""

DNS_FIREWALL_OPERATIONS = frozenset(
    {
        "CreateFirewallDomainList",
        "GetFirewallDomainList",
        "ListFirewallDomainLists",
        "UpdateFirewallDomains",
        "ListFirewallDomains",
        "DeleteFirewallDomainList",
        "CreateFirewallRuleGroup",
        "GetFirewallRuleGroup",
        "ListFirewallRuleGroups",
        "DeleteFirewallRuleGroup",
        "CreateFirewallRule",
        "UpdateFirewallRule",
        "ListFirewallRules",
        "DeleteFirewallRule",
        "AssociateFirewallRuleGroup",
        "GetFirewallRuleGroupAssociation",
        "ListFirewallRuleGroupAssociations",
        "DisassociateFirewallRuleGroup",
    }
)

_DOMAIN = re.compile(r"\*?[A-Za-z0-9.-]*")
_NAME = re.compile(r"(?!^[0-9]+$)([a-zA-Z0-9\-_' ']+)")
_VPC_ID = re.compile(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?")


class DnsFirewallError(ServiceException):
    """Base of the DNS Firewall errors; each class names an error shape of botocore's route53resolver."""

    http_status = 400


class ValidationException(DnsFirewallError):
    code = "ValidationException"


class ConflictException(DnsFirewallError):
    code = "ConflictException"


class LimitExceededException(DnsFirewallError):
    code = "LimitExceededException"


class ResourceNotFoundException(DnsFirewallError):
    code = "ResourceNotFoundException"


class DnsThrottlingException(DnsFirewallError):
    code = "ThrottlingException"
    message = "Rate exceeded"


class InternalServiceErrorException(DnsFirewallError):
    code = "InternalServiceErrorException"
    message = "We encountered an unknown error. Try again in a few minutes."
    http_status = 500


class DnsFaultPlan(FaultPlan):
    """The rule-group emulator's fault plan over DNS Firewall's operations.

    `token_conflict_rate` applies to UpdateFirewallDomains: a ConflictException as if another update
    were still being applied to the list.
    """

    OPERATIONS = DNS_FIREWALL_OPERATIONS
    CONFLICT_OPERATION = "UpdateFirewallDomains"


class DnsCounters(Counters):
    OPERATIONS = DNS_FIREWALL_OPERATIONS


def _now() -> datetime:
    return datetime.now(UTC)


def _resource_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:17]}"


@dataclass
class DomainList:
    id: str
    arn: str
    name: str
    creator_request_id: str
    created: str
    modified: str
    domains: dict[str, None] = field(default_factory=dict)
    """Insertion-ordered set of the domains as written."""
    updating_until: float = 0.0

    def status(self) -> str:
        return "UPDATING" if time.monotonic() < self.updating_until else "COMPLETE"

    def describe(self) -> dict[str, Any]:
        status = self.status()
        return {
            "Id": self.id,
            "Arn": self.arn,
            "Name": self.name,
            "DomainCount": len(self.domains),
            "Status": status,
            "StatusMessage": "Updating the Firewall Domain List" if status == "UPDATING" else "Created",
            "CreatorRequestId": self.creator_request_id,
            "CreationTime": self.created,
            "ModificationTime": self.modified,
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Arn": self.arn,
            "Name": self.name,
            "CreatorRequestId": self.creator_request_id,
        }


@dataclass
class RuleGroup:
    id: str
    arn: str
    name: str
    owner: str
    creator_request_id: str
    created: str
    rules: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Priority -> the rule as the API describes it."""

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Arn": self.arn,
            "Name": self.name,
            "RuleCount": len(self.rules),
            "Status": "COMPLETE",
            "StatusMessage": "Created",
            "OwnerId": self.owner,
            "CreatorRequestId": self.creator_request_id,
            "ShareStatus": "NOT_SHARED",
            "CreationTime": self.created,
            "ModificationTime": self.created,
        }


@dataclass
class Association:
    id: str
    arn: str
    rule_group_id: str
    vpc_id: str
    name: str
    priority: int
    mutation_protection: str
    creator_request_id: str
    created: str

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Arn": self.arn,
            "FirewallRuleGroupId": self.rule_group_id,
            "VpcId": self.vpc_id,
            "Name": self.name,
            "Priority": self.priority,
            "MutationProtection": self.mutation_protection,
            "Status": "COMPLETE",
            "StatusMessage": "Finished rule group association update",
            "CreatorRequestId": self.creator_request_id,
            "CreationTime": self.created,
            "ModificationTime": self.created,
        }


def validate_domain(domain: Any) -> str:
    """AWS's syntax for one domain specification (UpdateFirewallDomains' documentation)."""
    if not isinstance(domain, str) or not 1 <= len(domain) <= MAX_DOMAIN_LENGTH:
        raise ValidationException(f"Domain {domain!r} must be 1-{MAX_DOMAIN_LENGTH} characters long")
    if not _DOMAIN.fullmatch(domain):
        raise ValidationException(
            f"Domain {domain!r} may start with '*' and otherwise contain only A-Z, a-z, 0-9, '-' and '.'"
        )
    return domain


def validate_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name or len(name) > 64 or not _NAME.fullmatch(name):
        raise ValidationException(
            f"{what} name {name!r} must be 1-64 letters, digits, '-', '_', \"'\" or spaces, not only digits"
        )
    return name


class DnsFirewallStore:
    """Every DNS Firewall resource of one account and region, with its fault plan and counters."""

    def __init__(self, account_id: str, region_name: str, partition: str = "aws") -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.partition = partition
        self.faults = DnsFaultPlan()
        self.counters = DnsCounters()
        self.settle_seconds = DEFAULT_SETTLE_SECONDS
        self.domain_quota = ACCOUNT_DOMAIN_QUOTA
        """The account's quota (a raised quota is a Service Quotas request; tests lower it)."""
        self._lock = threading.Lock()
        self.domain_lists: dict[str, DomainList] = {}
        self.rule_groups: dict[str, RuleGroup] = {}
        self.associations: dict[str, Association] = {}
        self._by_request: dict[tuple[str, str], str] = {}

    def _arn(self, kind: str, resource_id: str) -> str:
        return (
            f"arn:{self.partition}:route53resolver:{self.region_name}:{self.account_id}:{kind}/{resource_id}"
        )

    # -- domain lists ------------------------------------------------------------------------------
    def create_domain_list(
        self, name: Any, creator_request_id: Any, resource_id: str | None = None
    ) -> DomainList:
        """``resource_id``: the id to give it (the sandbox deploys the render's ids); AWS generates one."""
        validate_name(name, "Firewall domain list")
        request = _required_request_id(creator_request_id)
        with self._lock:
            existing = self._by_request.get(("fdl", request))
            if existing in self.domain_lists:
                return self.domain_lists[existing]
            list_id = resource_id or _resource_id("rslvr-fdl")
            if list_id in self.domain_lists:
                raise ValidationException(f"Firewall domain list {list_id} already exists")
            stamp = _now().isoformat()
            created = DomainList(
                list_id, self._arn("firewall-domain-list", list_id), name, request, stamp, stamp
            )
            self.domain_lists[list_id] = created
            self._by_request[("fdl", request)] = list_id
            return created

    def domain_list(self, list_id: Any) -> DomainList:
        found = self.domain_lists.get(list_id) if isinstance(list_id, str) else None
        if found is None:
            raise ResourceNotFoundException(f"Firewall domain list {list_id!r} does not exist")
        return found

    def update_domains(
        self, list_id: Any, operation: Any, domains: Any, *, inject_conflict: bool = False
    ) -> DomainList:
        if operation not in ("ADD", "REMOVE", "REPLACE"):
            raise ValidationException(
                f"Operation {operation!r} is not supported for this domain list: use ADD, REMOVE or REPLACE"
            )
        if not isinstance(domains, list):
            raise ValidationException("Domains is required")
        if len(domains) > MAX_DOMAINS_PER_UPDATE:
            raise ValidationException(
                f"{len(domains)} domains in one request; the limit is {MAX_DOMAINS_PER_UPDATE} per request"
            )
        requested = [validate_domain(domain) for domain in domains]
        requested = ["*." if domain == "*" else domain for domain in requested]  # AWS stores `*` as `*.`
        with self._lock:
            target = self.domain_list(list_id)
            if inject_conflict or target.status() == "UPDATING":
                raise ConflictException(
                    f"Firewall domain list {target.id} is being updated; retry once its status is COMPLETE"
                )
            after = dict(target.domains)
            if operation == "REPLACE":
                after = dict.fromkeys(requested)
            elif operation == "ADD":
                after.update(dict.fromkeys(requested))
            else:
                for domain in requested:
                    after.pop(domain, None)
            others = sum(len(each.domains) for each in self.domain_lists.values() if each is not target)
            if others + len(after) > self.domain_quota and len(after) > len(target.domains):
                raise LimitExceededException(
                    f"The account would hold {others + len(after)} domains across its domain lists; "
                    f"the quota is {self.domain_quota}"
                )
            target.domains = after
            target.modified = _now().isoformat()
            target.updating_until = time.monotonic() + self.settle_seconds
            return target

    def list_domains(self, list_id: Any, max_results: Any, next_token: Any) -> tuple[list[str], str | None]:
        target = self.domain_list(list_id)
        with self._lock:
            domains = list(target.domains)
        return _page(domains, max_results, next_token, DOMAIN_PAGE_DEFAULT, DOMAIN_PAGE_MAX, target.id)

    def delete_domain_list(self, list_id: Any) -> DomainList:
        with self._lock:
            target = self.domain_list(list_id)
            users = [
                g.id
                for g in self.rule_groups.values()
                for r in g.rules.values()
                if r.get("FirewallDomainListId") == target.id
            ]
            if users:
                raise ConflictException(f"Firewall domain list {target.id} is used by rule group(s) {users}")
            del self.domain_lists[target.id]
            return target

    def total_domains(self) -> int:
        with self._lock:
            return sum(len(each.domains) for each in self.domain_lists.values())

    # -- rule groups and rules ---------------------------------------------------------------------
    def create_rule_group(
        self, name: Any, creator_request_id: Any, resource_id: str | None = None
    ) -> RuleGroup:
        validate_name(name, "Firewall rule group")
        request = _required_request_id(creator_request_id)
        with self._lock:
            existing = self._by_request.get(("frg", request))
            if existing in self.rule_groups:
                return self.rule_groups[existing]
            group_id = resource_id or _resource_id("rslvr-frg")
            if group_id in self.rule_groups:
                raise ValidationException(f"Firewall rule group {group_id} already exists")
            group = RuleGroup(
                group_id,
                self._arn("firewall-rule-group", group_id),
                name,
                self.account_id,
                request,
                _now().isoformat(),
            )
            self.rule_groups[group_id] = group
            self._by_request[("frg", request)] = group_id
            return group

    def rule_group(self, group_id: Any) -> RuleGroup:
        found = self.rule_groups.get(group_id) if isinstance(group_id, str) else None
        if found is None:
            raise ResourceNotFoundException(f"Firewall rule group {group_id!r} does not exist")
        return found

    def create_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        request = _required_request_id(params.get("CreatorRequestId"))
        name = validate_name(params.get("Name"), "Firewall rule")
        action = _validated_action(params)
        priority = params.get("Priority")
        if not isinstance(priority, int) or priority < 0:
            raise ValidationException(f"Priority {priority!r} must be a non-negative integer")
        with self._lock:
            group = self.rule_group(params.get("FirewallRuleGroupId"))
            list_id = params.get("FirewallDomainListId")
            if list_id is None:
                raise ValidationException("FirewallDomainListId is required for a domain-list rule")
            self.domain_list(list_id)
            if priority in group.rules:
                if group.rules[priority]["CreatorRequestId"] == request:
                    return group.rules[priority]
                raise ValidationException(f"Priority {priority} is already used in rule group {group.id}")
            if len(group.rules) >= MAX_RULES_PER_GROUP:
                raise LimitExceededException(
                    f"Rule group {group.id} already holds {MAX_RULES_PER_GROUP} rules"
                )
            stamp = _now().isoformat()
            rule = {
                "FirewallRuleGroupId": group.id,
                "FirewallDomainListId": list_id,
                "Name": name,
                "Priority": priority,
                "Action": action,
                "CreatorRequestId": request,
                "CreationTime": stamp,
                "ModificationTime": stamp,
                "FirewallDomainRedirectionAction": params.get("FirewallDomainRedirectionAction")
                or "INSPECT_REDIRECTION_DOMAIN",
            }
            for key in (
                "BlockResponse",
                "BlockOverrideDomain",
                "BlockOverrideDnsType",
                "BlockOverrideTtl",
                "Qtype",
            ):
                if params.get(key) is not None:
                    rule[key] = params[key]
            group.rules[priority] = rule
            return rule

    def update_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        """UpdateFirewallRule of the rule over ``FirewallDomainListId``: the rule it leaves must be one
        CreateFirewallRule accepts (an ALERT or ALLOW rule keeps no BlockResponse). The conservative
        reading: the request states the rule's action fields whole, as the Pulumi provider sends them."""
        action = _validated_action(params)
        with self._lock:
            group = self.rule_group(params.get("FirewallRuleGroupId"))
            list_id = params.get("FirewallDomainListId")
            rule = next((r for r in group.rules.values() if r.get("FirewallDomainListId") == list_id), None)
            if rule is None:
                raise ResourceNotFoundException(
                    f"No rule for domain list {list_id!r} in rule group {group.id}"
                )
            for key in ("BlockResponse", "BlockOverrideDomain", "BlockOverrideDnsType", "BlockOverrideTtl"):
                rule.pop(key, None)
                if params.get(key) is not None:
                    rule[key] = params[key]
            rule["Action"] = action
            if params.get("Name") is not None:
                rule["Name"] = validate_name(params["Name"], "Firewall rule")
            rule["ModificationTime"] = _now().isoformat()
            return rule

    def delete_rule(self, group_id: Any, list_id: Any) -> dict[str, Any]:
        with self._lock:
            group = self.rule_group(group_id)
            for priority, rule in list(group.rules.items()):
                if rule.get("FirewallDomainListId") == list_id:
                    return group.rules.pop(priority)
            raise ResourceNotFoundException(f"No rule for domain list {list_id!r} in rule group {group.id}")

    def delete_rule_group(self, group_id: Any) -> RuleGroup:
        with self._lock:
            group = self.rule_group(group_id)
            if any(a.rule_group_id == group.id for a in self.associations.values()):
                raise ConflictException(f"Firewall rule group {group.id} is associated with a VPC")
            del self.rule_groups[group.id]
            return group

    # -- associations ------------------------------------------------------------------------------
    def associate(self, params: dict[str, Any], resource_id: str | None = None) -> Association:
        request = _required_request_id(params.get("CreatorRequestId"))
        name = validate_name(params.get("Name"), "Firewall rule group association")
        priority = params.get("Priority")
        if (
            not isinstance(priority, int)
            or not MIN_ASSOCIATION_PRIORITY <= priority <= MAX_ASSOCIATION_PRIORITY
        ):
            raise ValidationException(
                f"Priority {priority!r} must be {MIN_ASSOCIATION_PRIORITY}-{MAX_ASSOCIATION_PRIORITY}"
            )
        protection = params.get("MutationProtection") or "DISABLED"
        if protection not in ("ENABLED", "DISABLED"):
            raise ValidationException(f"MutationProtection {protection!r} must be ENABLED or DISABLED")
        vpc_id = params.get("VpcId")
        if not isinstance(vpc_id, str) or vpc_id not in ec2_backends[self.account_id][self.region_name].vpcs:
            raise ResourceNotFoundException(f"VPC {vpc_id!r} does not exist")
        with self._lock:
            group = self.rule_group(params.get("FirewallRuleGroupId"))
            existing = self._by_request.get(("frga", request))
            if existing in self.associations:
                return self.associations[existing]
            on_vpc = [a for a in self.associations.values() if a.vpc_id == vpc_id]
            if any(a.rule_group_id == group.id for a in on_vpc):
                raise ConflictException(f"Rule group {group.id} is already associated with {vpc_id}")
            if any(a.priority == priority for a in on_vpc):
                raise ConflictException(
                    f"Priority {priority} is already used by another rule group on {vpc_id}"
                )
            if len(on_vpc) >= MAX_RULE_GROUPS_PER_VPC:
                raise LimitExceededException(f"{vpc_id} already has {MAX_RULE_GROUPS_PER_VPC} rule groups")
            association_id = resource_id or _resource_id("rslvr-frgassoc")
            association = Association(
                association_id,
                self._arn("firewall-rule-group-association", association_id),
                group.id,
                vpc_id,
                name,
                priority,
                protection,
                request,
                _now().isoformat(),
            )
            self.associations[association_id] = association
            self._by_request[("frga", request)] = association_id
            return association

    def association(self, association_id: Any) -> Association:
        found = self.associations.get(association_id) if isinstance(association_id, str) else None
        if found is None:
            raise ResourceNotFoundException(
                f"Firewall rule group association {association_id!r} does not exist"
            )
        return found

    def disassociate(self, association_id: Any) -> Association:
        with self._lock:
            association = self.association(association_id)
            if association.mutation_protection == "ENABLED":
                raise ValidationException(
                    f"Association {association.id} has MutationProtection ENABLED; disable it first"
                )
            del self.associations[association.id]
            return association


def _required_request_id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise ValidationException("CreatorRequestId must be 1-255 characters")
    return value


def _page(
    items: list[Any], max_results: Any, next_token: Any, default: int, maximum: int, scope: str
) -> tuple[list[Any], str | None]:
    size = default if max_results is None else max_results
    if not isinstance(size, int) or not 1 <= size <= maximum:
        raise ValidationException(f"MaxResults {max_results!r} must be between 1 and {maximum}")
    start = 0
    if next_token is not None:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(str(next_token).encode()).decode())
            start = int(decoded["offset"])
            if decoded["scope"] != scope or start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ValidationException(f"NextToken {next_token!r} is invalid") from None
    page = items[start : start + size]
    end = start + len(page)
    token = None
    if end < len(items):
        token = base64.urlsafe_b64encode(json.dumps({"scope": scope, "offset": end}).encode()).decode()
    return page, token


_STORE_ATTRIBUTE = "_nfw_blocklist_dns_firewall"
_attach_lock = threading.Lock()
_install_lock = threading.Lock()


def store_for(backend: Any) -> DnsFirewallStore:
    """The backend's DNS Firewall store; it lives in the backend, so moto's reset discards it."""
    found: DnsFirewallStore | None = backend.__dict__.get(_STORE_ATTRIBUTE)
    if found is None:
        with _attach_lock:
            found = backend.__dict__.get(_STORE_ATTRIBUTE)
            if found is None:
                found = DnsFirewallStore(
                    backend.account_id, backend.region_name, get_partition(backend.region_name)
                )
                backend.__dict__[_STORE_ATTRIBUTE] = found
    return found


def store(region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT_ID) -> DnsFirewallStore:
    """The DNS Firewall state of one account and region (its lists, settle time and quota)."""
    return store_for(route53resolver_backends[account][region])


def faults(region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT_ID) -> FaultPlan:
    """The fault plan of one account and region; `token_conflict_rate` means ConflictException here."""
    return store(region, account).faults


def counters(region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT_ID) -> Counters:
    return store(region, account).counters


class _ResponseMethods:
    """Methods copied onto Route53ResolverResponse, one per emulated operation."""

    route53resolver_backend: Route53ResolverBackend
    _get_param: Callable[..., Any]
    serialized: Callable[[ActionResult], tuple[int, dict[str, Any], Any]]

    def _dns_call(self, operation: str, act: Callable[[DnsFirewallStore, Decision], dict[str, Any]]) -> Any:
        dns = store_for(self.route53resolver_backend)
        injected = False
        try:
            try:
                decision = dns.faults.admit(operation, dns.counters)
            except ThrottlingException:
                raise DnsThrottlingException() from None
            except InternalServerError:
                raise InternalServiceErrorException() from None
            injected = decision.token_conflict
            result = act(dns, decision)
            if operation == "UpdateFirewallDomains":
                dns.counters.record("successful_updates")
            return ActionResult(result)
        except DnsFirewallError as error:
            if isinstance(error, ConflictException):
                dns.counters.record("injected_token_conflicts" if injected else "token_conflicts")
            elif isinstance(error, DnsThrottlingException):
                dns.counters.record("throttles")
            elif isinstance(error, InternalServiceErrorException):
                dns.counters.record("internal_errors")
            _, headers, body = self.serialized(ActionResult(error))
            headers["status"] = error.http_status
            return body, headers

    def create_firewall_domain_list(self) -> Any:
        return self._dns_call(
            "CreateFirewallDomainList",
            lambda dns, _: {
                "FirewallDomainList": dns.create_domain_list(
                    self._get_param("Name"), self._get_param("CreatorRequestId")
                ).describe()
            },
        )

    def get_firewall_domain_list(self) -> Any:
        return self._dns_call(
            "GetFirewallDomainList",
            lambda dns, _: {
                "FirewallDomainList": dns.domain_list(self._get_param("FirewallDomainListId")).describe()
            },
        )

    def list_firewall_domain_lists(self) -> Any:
        def act(dns: DnsFirewallStore, _: Decision) -> dict[str, Any]:
            lists = sorted(dns.domain_lists.values(), key=lambda each: each.created)
            page, token = _page(
                [each.metadata() for each in lists],
                self._get_param("MaxResults"),
                self._get_param("NextToken"),
                PAGE_DEFAULT,
                PAGE_MAX,
                "domain-lists",
            )
            return {"FirewallDomainLists": page, **({"NextToken": token} if token else {})}

        return self._dns_call("ListFirewallDomainLists", act)

    def update_firewall_domains(self) -> Any:
        def act(dns: DnsFirewallStore, decision: Decision) -> dict[str, Any]:
            updated = dns.update_domains(
                self._get_param("FirewallDomainListId"),
                self._get_param("Operation"),
                self._get_param("Domains"),
                inject_conflict=decision.token_conflict,
            )
            return {"Id": updated.id, "Name": updated.name, "Status": "UPDATING", "StatusMessage": "Updating"}

        return self._dns_call("UpdateFirewallDomains", act)

    def list_firewall_domains(self) -> Any:
        def act(dns: DnsFirewallStore, _: Decision) -> dict[str, Any]:
            page, token = dns.list_domains(
                self._get_param("FirewallDomainListId"),
                self._get_param("MaxResults"),
                self._get_param("NextToken"),
            )
            return {"Domains": page, **({"NextToken": token} if token else {})}

        return self._dns_call("ListFirewallDomains", act)

    def delete_firewall_domain_list(self) -> Any:
        def act(dns: DnsFirewallStore, _: Decision) -> dict[str, Any]:
            described = dns.delete_domain_list(self._get_param("FirewallDomainListId")).describe()
            return {"FirewallDomainList": {**described, "Status": "DELETING"}}

        return self._dns_call("DeleteFirewallDomainList", act)

    def create_firewall_rule_group(self) -> Any:
        return self._dns_call(
            "CreateFirewallRuleGroup",
            lambda dns, _: {
                "FirewallRuleGroup": dns.create_rule_group(
                    self._get_param("Name"), self._get_param("CreatorRequestId")
                ).describe()
            },
        )

    def get_firewall_rule_group(self) -> Any:
        return self._dns_call(
            "GetFirewallRuleGroup",
            lambda dns, _: {
                "FirewallRuleGroup": dns.rule_group(self._get_param("FirewallRuleGroupId")).describe()
            },
        )

    def list_firewall_rule_groups(self) -> Any:
        def act(dns: DnsFirewallStore, _: Decision) -> dict[str, Any]:
            groups = [
                {
                    k: g.describe()[k]
                    for k in ("Id", "Arn", "Name", "OwnerId", "CreatorRequestId", "ShareStatus")
                }
                for g in sorted(dns.rule_groups.values(), key=lambda each: each.created)
            ]
            page, token = _page(
                groups,
                self._get_param("MaxResults"),
                self._get_param("NextToken"),
                PAGE_DEFAULT,
                PAGE_MAX,
                "rule-groups",
            )
            return {"FirewallRuleGroups": page, **({"NextToken": token} if token else {})}

        return self._dns_call("ListFirewallRuleGroups", act)

    def delete_firewall_rule_group(self) -> Any:
        return self._dns_call(
            "DeleteFirewallRuleGroup",
            lambda dns, _: {
                "FirewallRuleGroup": dns.delete_rule_group(self._get_param("FirewallRuleGroupId")).describe()
            },
        )

    def create_firewall_rule(self) -> Any:
        params = {
            key: self._get_param(key)
            for key in (
                "CreatorRequestId",
                "FirewallRuleGroupId",
                "FirewallDomainListId",
                "Priority",
                "Action",
                "BlockResponse",
                "BlockOverrideDomain",
                "BlockOverrideDnsType",
                "BlockOverrideTtl",
                "Name",
                "FirewallDomainRedirectionAction",
                "Qtype",
            )
        }
        return self._dns_call("CreateFirewallRule", lambda dns, _: {"FirewallRule": dns.create_rule(params)})

    def update_firewall_rule(self) -> Any:
        params = {
            key: self._get_param(key)
            for key in (
                "FirewallRuleGroupId",
                "FirewallDomainListId",
                "Action",
                "BlockResponse",
                "BlockOverrideDomain",
                "BlockOverrideDnsType",
                "BlockOverrideTtl",
                "Name",
            )
        }
        return self._dns_call("UpdateFirewallRule", lambda dns, _: {"FirewallRule": dns.update_rule(params)})

    def list_firewall_rules(self) -> Any:
        def act(dns: DnsFirewallStore, _: Decision) -> dict[str, Any]:
            group = dns.rule_group(self._get_param("FirewallRuleGroupId"))
            rules = [group.rules[p] for p in sorted(group.rules)]
            page, token = _page(
                rules,
                self._get_param("MaxResults"),
                self._get_param("NextToken"),
                PAGE_DEFAULT,
                PAGE_MAX,
                group.id,
            )
            return {"FirewallRules": page, **({"NextToken": token} if token else {})}

        return self._dns_call("ListFirewallRules", act)

    def delete_firewall_rule(self) -> Any:
        return self._dns_call(
            "DeleteFirewallRule",
            lambda dns, _: {
                "FirewallRule": dns.delete_rule(
                    self._get_param("FirewallRuleGroupId"), self._get_param("FirewallDomainListId")
                )
            },
        )

    def associate_firewall_rule_group(self) -> Any:
        params = {
            key: self._get_param(key)
            for key in (
                "CreatorRequestId",
                "FirewallRuleGroupId",
                "VpcId",
                "Priority",
                "Name",
                "MutationProtection",
            )
        }
        return self._dns_call(
            "AssociateFirewallRuleGroup",
            lambda dns, _: {"FirewallRuleGroupAssociation": dns.associate(params).describe()},
        )

    def get_firewall_rule_group_association(self) -> Any:
        return self._dns_call(
            "GetFirewallRuleGroupAssociation",
            lambda dns, _: {
                "FirewallRuleGroupAssociation": dns.association(
                    self._get_param("FirewallRuleGroupAssociationId")
                ).describe()
            },
        )

    def list_firewall_rule_group_associations(self) -> Any:
        def act(dns: DnsFirewallStore, _: Decision) -> dict[str, Any]:
            wanted = {
                "FirewallRuleGroupId": self._get_param("FirewallRuleGroupId"),
                "VpcId": self._get_param("VpcId"),
                "Priority": self._get_param("Priority"),
            }
            found = [
                a.describe()
                for a in sorted(dns.associations.values(), key=lambda each: each.created)
                if all(value is None or a.describe()[key] == value for key, value in wanted.items())
            ]
            page, token = _page(
                found,
                self._get_param("MaxResults"),
                self._get_param("NextToken"),
                PAGE_DEFAULT,
                PAGE_MAX,
                "associations",
            )
            return {"FirewallRuleGroupAssociations": page, **({"NextToken": token} if token else {})}

        return self._dns_call("ListFirewallRuleGroupAssociations", act)

    def disassociate_firewall_rule_group(self) -> Any:
        def act(dns: DnsFirewallStore, _: Decision) -> dict[str, Any]:
            described = dns.disassociate(self._get_param("FirewallRuleGroupAssociationId")).describe()
            return {"FirewallRuleGroupAssociation": {**described, "Status": "DELETING"}}

        return self._dns_call("DisassociateFirewallRuleGroup", act)


_OPERATION_METHODS = tuple(
    re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower() for operation in sorted(DNS_FIREWALL_OPERATIONS)
)


def install() -> None:
    """Teach moto's route53resolver service the DNS Firewall operations. Idempotent and thread-safe."""
    with _install_lock:
        for name in ("_dns_call", *_OPERATION_METHODS):
            setattr(Route53ResolverResponse, name, getattr(_ResponseMethods, name))


def installed() -> bool:
    return (
        getattr(Route53ResolverResponse, "update_firewall_domains", None)
        is _ResponseMethods.update_firewall_domains
    )


def _validated_action(params: dict[str, Any]) -> str:
    """A rule's Action with its block fields, as CreateFirewallRule (and UpdateFirewallRule) accept them."""
    action = params.get("Action")
    if action not in ("ALLOW", "BLOCK", "ALERT"):
        raise ValidationException(f"Action {action!r} must be ALLOW, BLOCK or ALERT")
    block_response = params.get("BlockResponse")
    if action == "BLOCK":
        if block_response not in ("NODATA", "NXDOMAIN", "OVERRIDE"):
            raise ValidationException("A BLOCK rule needs a BlockResponse of NODATA, NXDOMAIN or OVERRIDE")
        if block_response == "OVERRIDE" and not all(
            params.get(key) is not None
            for key in ("BlockOverrideDomain", "BlockOverrideDnsType", "BlockOverrideTtl")
        ):
            raise ValidationException(
                "OVERRIDE needs BlockOverrideDomain, BlockOverrideDnsType and BlockOverrideTtl"
            )
    elif block_response is not None:
        raise ValidationException(f"BlockResponse applies to BLOCK rules only, not {action}")
    return str(action)
