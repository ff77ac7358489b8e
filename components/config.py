"""Stack configuration: read, validated and turned into typed values before any resource exists.

Every check here is pure, so a bad ``pulumi config`` value stops the program with a one-line message
naming the key and what it accepts, and tests can exercise every rule without Pulumi.
"""

import ipaddress
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeVar

import pulumi

from components.alarms import DEFAULT_CAPACITY_ALARM_PERCENT
from components.aws_limits import EVENT_BUS_POLICY_CHARS
from components.constants import (
    DEFAULT_CAPACITY,
    DEFAULT_LOG_RETENTION_DAYS,
    LOG_RETENTION_DAYS,
    MAX_SOURCE_PRIORITY,
    MAX_STATELESS_CAPACITY,
    MIN_CAPACITY,
    log_retention_problem,
)
from components.dns_firewall import (
    DEFAULT_ASSOCIATION_PRIORITY,
    MAX_ASSOCIATION_PRIORITY,
    MIN_ASSOCIATION_PRIORITY,
    BlockResponse,
    check_vpc_ids,
)
from components.limits import LAMBDA_ENVIRONMENT_BYTES, environment_overflow, reserved_names
from components.organization import (
    ACCEPTS,
    ACCOUNT_ID,
    ACCOUNTS,
    REGION,
    REGIONS,
    finding_bus_policy_overflow,
    is_principal,
)
from components.patterns import pattern_size_problem, scoped_patterns_for
from handlers.domains import ProtectedDomains
from handlers.enforcement import DEFAULT_DOMAIN_CAPACITY, MAX_STATEFUL_CAPACITY, MIN_DOMAIN_CAPACITY
from handlers.errors import ConfigurationError
from handlers.settings import (
    DEFAULT_DNS_FIREWALL_MAX_DOMAINS,
    DEFAULT_RETENTION_MINUTES,
    DEFAULT_RULE_PRIORITY,
    DNS_FIREWALL_ACCOUNT_QUOTA,
    ENV_ACTION_TYPES,
    ENV_DNS_FIREWALL_MAX_DOMAINS,
    ENV_DOMAIN_BLOCKING,
    ENV_FINDING_ACCOUNTS,
    ENV_FINDING_REGIONS,
    ENV_FINDING_TYPE_EXCLUDE,
    ENV_FINDING_TYPE_INCLUDE,
    ENV_MIN_SEVERITY,
    ENV_ON_CAPACITY_FULL,
    ENV_PROTECTED_CIDRS,
    ENV_PROTECTED_DOMAINS,
    ENV_RETENTION_MINUTES,
    ENV_RULE_PRIORITY,
    MAX_RETENTION_MINUTES,
    MIN_RETENTION_MINUTES,
    OPT_IN_ACTIONS,
    CapacityPolicy,
    DomainBlocking,
    Settings,
    WorkflowStatus,
)

NAMESPACE: Final = "nfw-blocklist"

E = TypeVar("E", bound=StrEnum)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


class FindingSource(StrEnum):
    """Which EventBridge events start the response workflow."""

    SECURITY_HUB = "securityhub"
    GUARDDUTY = "guardduty"
    BOTH = "both"


class InvalidConfig(ValueError):
    """A stack configuration value outside what the program accepts; the message names the key."""


KEYS: Final = (
    "adminEmail",
    "retentionMinutes",
    "pruningFrequencyMinutes",
    "ruleGroupCapacity",
    "ruleGroupPriority",
    "protectedCidrs",
    "findingSource",
    "minSeverity",
    "findingTypeInclude",
    "findingTypeExclude",
    "onCapacityFull",
    "actionTypes",
    "createFirewallPolicy",
    "logRetentionDays",
    "acceptFindingsFrom",
    "findingRegions",
    "findingAccounts",
    "alarms",
    "capacityAlarmPercent",
    "updateFindings",
    "findingWorkflowStatus",
    "domainBlocking",
    "domainRuleGroupCapacity",
    "homeNetCidrs",
    "protectedDomains",
    "dnsFirewallVpcIds",
    "dnsFirewallBlockResponse",
    "dnsFirewallPriority",
    "dnsFirewallMaxDomains",
)
"""Every key the program reads, in the namespace ``nfw-blocklist``."""

ENVIRONMENT_KEYS: Final = {
    ENV_RULE_PRIORITY: "ruleGroupPriority",
    ENV_RETENTION_MINUTES: "retentionMinutes",
    ENV_PROTECTED_CIDRS: "protectedCidrs",
    ENV_MIN_SEVERITY: "minSeverity",
    ENV_FINDING_TYPE_INCLUDE: "findingTypeInclude",
    ENV_FINDING_TYPE_EXCLUDE: "findingTypeExclude",
    ENV_ON_CAPACITY_FULL: "onCapacityFull",
    ENV_ACTION_TYPES: "actionTypes",
    ENV_FINDING_REGIONS: "findingRegions",
    ENV_FINDING_ACCOUNTS: "findingAccounts",
    ENV_DOMAIN_BLOCKING: "domainBlocking",
    ENV_DNS_FIREWALL_MAX_DOMAINS: "dnsFirewallMaxDomains",
    ENV_PROTECTED_DOMAINS: "protectedDomains",
}
"""The setting behind each variable of the functions' environment (the names in errors)."""


@dataclass(frozen=True)
class StackConfig:
    """The validated configuration of one stack."""

    admin_email: str
    retention_minutes: int = DEFAULT_RETENTION_MINUTES
    pruning_frequency_minutes: int = 15
    rule_group_capacity: int = DEFAULT_CAPACITY
    rule_group_priority: int = DEFAULT_RULE_PRIORITY
    protected_cidrs: tuple[str, ...] = ()
    finding_source: FindingSource = FindingSource.SECURITY_HUB
    min_severity: float = 0.0
    finding_type_include: tuple[str, ...] = ()
    finding_type_exclude: tuple[str, ...] = ()
    on_capacity_full: CapacityPolicy = CapacityPolicy.EVICT_OLDEST
    action_types: tuple[str, ...] = ()
    create_firewall_policy: bool = False
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    accept_findings_from: tuple[str, ...] = ()
    """Accounts and organizations whose findings may arrive on this stack's finding bus; empty: no bus."""
    finding_regions: tuple[str, ...] = ()
    """Act only on findings found in these regions; empty: every region."""
    finding_accounts: tuple[str, ...] = ()
    """Act only on findings of these accounts; empty: every account."""
    alarms: bool = True
    capacity_alarm_percent: int = DEFAULT_CAPACITY_ALARM_PERCENT
    update_findings: bool = True
    """Annotate the Security Hub findings the workflow acts on (BatchUpdateFindings)."""
    finding_workflow_status: WorkflowStatus = WorkflowStatus.NOTIFIED
    domain_blocking: DomainBlocking = DomainBlocking.NETWORK_FIREWALL
    domain_rule_group_capacity: int = DEFAULT_DOMAIN_CAPACITY
    home_net_cidrs: tuple[str, ...] = ()
    protected_domains: tuple[str, ...] = ()
    dns_firewall_vpc_ids: tuple[str, ...] = ()
    dns_firewall_block_response: BlockResponse = BlockResponse.NODATA
    dns_firewall_priority: int = DEFAULT_ASSOCIATION_PRIORITY
    dns_firewall_max_domains: int = DEFAULT_DNS_FIREWALL_MAX_DOMAINS

    @property
    def dns_firewall(self) -> bool:
        """Does the stack block domains in Route 53 Resolver DNS Firewall?"""
        return DomainBlocking.DNS_FIREWALL.value in self.domain_blocking.points

    @property
    def domain_group_capacity(self) -> int | None:
        """The domain rule group's capacity when the stack blocks domains in Network Firewall, else None."""
        if DomainBlocking.NETWORK_FIREWALL.value in self.domain_blocking.points:
            return self.domain_rule_group_capacity
        return None

    @classmethod
    def from_pulumi(cls, config: pulumi.Config) -> "StackConfig":
        """Read every key from the stack's configuration (values arrive as strings)."""
        return cls.from_mapping({key: value for key in KEYS if (value := config.get(key)) is not None})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "StackConfig":
        """Validate raw values (strings as ``pulumi config`` stores them, or native Python values)."""
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise InvalidConfig(f"{NAMESPACE}:{unknown[0]} is not a known setting; known: {', '.join(KEYS)}")
        config = cls(
            admin_email=_email(values, "adminEmail"),
            retention_minutes=_int(
                values,
                "retentionMinutes",
                DEFAULT_RETENTION_MINUTES,
                MIN_RETENTION_MINUTES,
                MAX_RETENTION_MINUTES,
            ),
            pruning_frequency_minutes=_int(values, "pruningFrequencyMinutes", 15, 5, 180),
            rule_group_capacity=_int(
                values, "ruleGroupCapacity", DEFAULT_CAPACITY, MIN_CAPACITY, MAX_STATELESS_CAPACITY
            ),
            rule_group_priority=_int(
                values, "ruleGroupPriority", DEFAULT_RULE_PRIORITY, 1, MAX_SOURCE_PRIORITY
            ),
            protected_cidrs=_cidrs(values, "protectedCidrs"),
            finding_source=_choice(values, "findingSource", FindingSource, FindingSource.SECURITY_HUB),
            min_severity=_severity(values, "minSeverity"),
            finding_type_include=_prefixes(values, "findingTypeInclude"),
            finding_type_exclude=_prefixes(values, "findingTypeExclude"),
            on_capacity_full=_choice(values, "onCapacityFull", CapacityPolicy, CapacityPolicy.EVICT_OLDEST),
            action_types=_action_types(values, "actionTypes"),
            create_firewall_policy=_bool(values, "createFirewallPolicy", False),
            log_retention_days=_log_retention(values, "logRetentionDays"),
            accept_findings_from=_principals(values, "acceptFindingsFrom"),
            finding_regions=_regions(values, "findingRegions"),
            finding_accounts=_accounts(values, "findingAccounts"),
            alarms=_bool(values, "alarms", True),
            capacity_alarm_percent=_int(
                values, "capacityAlarmPercent", DEFAULT_CAPACITY_ALARM_PERCENT, 1, 100
            ),
            update_findings=_update_findings(values, "updateFindings"),
            finding_workflow_status=_choice(
                values, "findingWorkflowStatus", WorkflowStatus, WorkflowStatus.NOTIFIED
            ),
            domain_blocking=_choice(
                values, "domainBlocking", DomainBlocking, DomainBlocking.NETWORK_FIREWALL
            ),
            domain_rule_group_capacity=_int(
                values,
                "domainRuleGroupCapacity",
                DEFAULT_DOMAIN_CAPACITY,
                MIN_DOMAIN_CAPACITY,
                MAX_STATEFUL_CAPACITY,
            ),
            home_net_cidrs=_home_net(values, "homeNetCidrs"),
            protected_domains=_protected_domains(values, "protectedDomains"),
            dns_firewall_vpc_ids=_vpc_ids(values, "dnsFirewallVpcIds"),
            dns_firewall_block_response=_choice(
                values, "dnsFirewallBlockResponse", BlockResponse, BlockResponse.NODATA
            ),
            dns_firewall_priority=_int(
                values,
                "dnsFirewallPriority",
                DEFAULT_ASSOCIATION_PRIORITY,
                MIN_ASSOCIATION_PRIORITY,
                MAX_ASSOCIATION_PRIORITY,
            ),
            dns_firewall_max_domains=_int(
                values,
                "dnsFirewallMaxDomains",
                DEFAULT_DNS_FIREWALL_MAX_DOMAINS,
                1,
                DNS_FIREWALL_ACCOUNT_QUOTA,
            ),
        )
        if config.dns_firewall and not config.dns_firewall_vpc_ids:
            raise InvalidConfig(
                f"{NAMESPACE}:dnsFirewallVpcIds is required with domainBlocking {config.domain_blocking}: "
                "DNS Firewall filters only the VPCs its rule group is associated with"
            )
        config._check_function_environment()
        check_event_patterns(
            config.finding_source.value,
            config.action_types,
            config.finding_regions,
            config.finding_accounts,
            domains=config.domain_blocking is not DomainBlocking.OFF,
        )
        _check_bus_policy(config.accept_findings_from)
        return config

    def _check_function_environment(self) -> None:
        """Lambda refuses a function whose environment exceeds 4 KB: say which setting to shorten."""
        settings = self.handler_settings()
        overflow = environment_overflow(settings.policy_environment(), reserved_names(settings))
        if overflow is not None:
            total, variable = overflow
            raise InvalidConfig(
                f"{NAMESPACE}:{ENVIRONMENT_KEYS[variable]} is too long: it makes the functions' environment "
                f"up to {total} bytes and Lambda accepts {LAMBDA_ENVIRONMENT_BYTES} in all; "
                "shorten the list (merge CIDRs, drop prefixes)"
            )

    def handler_settings(self, table_name: str = "", rule_group_arn: str = "") -> Settings:
        """The handlers' policy as ``handlers.settings.Settings``; components fill in the resource names."""
        return Settings(
            table_name=table_name,
            rule_group_arn=rule_group_arn,
            rule_priority=self.rule_group_priority,
            retention_minutes=self.retention_minutes,
            protected_cidrs=self.protected_cidrs,
            min_severity=self.min_severity,
            finding_type_include=self.finding_type_include,
            finding_type_exclude=self.finding_type_exclude,
            on_capacity_full=self.on_capacity_full,
            action_types=self.action_types,
            finding_regions=self.finding_regions,
            finding_accounts=self.finding_accounts,
            finding_workflow_status=self.finding_workflow_status,
            domain_blocking=self.domain_blocking,
            protected_domains=self.protected_domains,
            dns_firewall_max_domains=self.dns_firewall_max_domains,
        )


def _fail(key: str, accepts: str, raw: Any) -> InvalidConfig:
    return InvalidConfig(f"{NAMESPACE}:{key} must be {accepts}, got {raw!r}")


def _email(values: Mapping[str, Any], key: str) -> str:
    raw = values.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidConfig(
            f"{NAMESPACE}:{key} is required: the e-mail address that receives notifications "
            f"(pulumi config set {key} you@example.com)"
        )
    if not isinstance(raw, str) or not _EMAIL.match(raw.strip()):
        raise _fail(key, "an e-mail address such as security-team@example.com", raw)
    return raw.strip()


def _int(values: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = values.get(key)
    if raw is None:
        return default
    accepts = f"an integer from {low} to {high}"
    if isinstance(raw, bool):
        raise _fail(key, accepts, raw)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        value = int(raw)
    else:
        raise _fail(key, accepts, raw)
    if not low <= value <= high:
        raise _fail(key, accepts, raw)
    return value


def _severity(values: Mapping[str, Any], key: str) -> float:
    raw = values.get(key)
    if raw is None:
        return 0.0
    accepts = "a number from 0 to 10"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _fail(key, accepts, raw) from None
    if isinstance(raw, bool) or not 0.0 <= value <= 10.0:
        raise _fail(key, accepts, raw)
    return value


def _bool(values: Mapping[str, Any], key: str, default: bool) -> bool:
    raw = values.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in {"true", "false"}:
        return raw.strip().lower() == "true"
    raise _fail(key, "true or false", raw)


def _choice(values: Mapping[str, Any], key: str, enum: type[E], default: E) -> E:
    raw = values.get(key)
    if raw is None:
        return default
    try:
        return enum(raw)
    except ValueError:
        raise _fail(key, "one of " + ", ".join(member.value for member in enum), raw) from None


def _string_list(values: Mapping[str, Any], key: str, accepts: str) -> tuple[str, ...]:
    raw = values.get(key)
    if raw is None:
        return ()
    items: Any = raw
    if isinstance(raw, str):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError:
            raise _fail(key, accepts, raw) from None
    if (
        not isinstance(items, Sequence)
        or isinstance(items, str)
        or not all(isinstance(i, str) for i in items)
    ):
        raise _fail(key, accepts, raw)
    return tuple(item.strip() for item in items)


def _cidrs(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = 'a list of IPv4 or IPv6 CIDRs such as ["10.0.0.0/8"]'
    cidrs = _string_list(values, key, accepts)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise _fail(key, accepts, cidr) from None
    return cidrs


def _prefixes(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = 'a list of non-empty finding-type prefixes such as ["Backdoor:", "CryptoCurrency:"]'
    prefixes = _string_list(values, key, accepts)
    if any(not prefix for prefix in prefixes):
        raise _fail(key, accepts, values.get(key))
    return prefixes


def _action_types(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = "a list drawn from " + ", ".join(OPT_IN_ACTIONS)
    actions = _string_list(values, key, accepts)
    unknown = [action for action in actions if action not in OPT_IN_ACTIONS]
    if unknown:
        raise _fail(key, accepts, unknown[0])
    return tuple(dict.fromkeys(actions))


def _log_retention(values: Mapping[str, Any], key: str) -> int:
    value = _int(values, key, DEFAULT_LOG_RETENTION_DAYS, 1, max(LOG_RETENTION_DAYS))
    problem = log_retention_problem(value)
    if problem is not None:
        raise _fail(key, problem, values[key])
    return value


# --- Organization scale: who may send findings, and which findings a stack acts on ---


def _identifiers(values: Mapping[str, Any], key: str, accepts: str, valid: Any) -> tuple[str, ...]:
    """A list of identifiers each accepted by ``valid``, without duplicates, in the order given."""
    items = _string_list(values, key, f"a list of {accepts}")
    bad = next((item for item in items if not valid(item)), None)
    if bad is not None:
        raise _fail(key, f"a list of {accepts}", bad)
    return tuple(dict.fromkeys(items))


def _principals(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return _identifiers(values, key, ACCEPTS, is_principal)


def _regions(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return _identifiers(values, key, REGIONS, REGION.fullmatch)


def _accounts(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return _identifiers(values, key, ACCOUNTS, ACCOUNT_ID.fullmatch)


def check_event_patterns(
    finding_source: str,
    action_types: Sequence[str],
    regions: Sequence[str],
    accounts: Sequence[str],
    namespace: str = NAMESPACE,
    domains: bool = False,
) -> None:
    """EventBridge refuses a rule whose pattern exceeds its quota: name the list to shorten."""
    problem = pattern_size_problem(
        scoped_patterns_for(finding_source, action_types, regions, accounts, domains)
    )
    if problem is not None:
        key = "findingAccounts" if len(",".join(accounts)) >= len(",".join(regions)) else "findingRegions"
        raise InvalidConfig(f"{namespace}:{key} is too long: it {problem}; list fewer accounts or regions")


def _check_bus_policy(principals: Sequence[str]) -> None:
    length = finding_bus_policy_overflow(principals)
    if length is not None:
        raise InvalidConfig(
            f"{NAMESPACE}:acceptFindingsFrom is too long: it makes the finding bus's policy up to {length} "
            f"characters and EventBridge accepts {EVENT_BUS_POLICY_CHARS}; accept the organization ID "
            "instead of its accounts"
        )


@contextmanager
def namespaced(namespace: str) -> Iterator[None]:
    """Errors of the validators above, for a key of another project (the forwarder's), name its namespace."""
    try:
        yield
    except InvalidConfig as error:
        message = str(error)
        if not message.startswith(f"{NAMESPACE}:"):
            raise
        raise InvalidConfig(f"{namespace}:{message.removeprefix(NAMESPACE + ':')}") from None


def _update_findings(values: Mapping[str, Any], key: str) -> bool:
    """On by default when Security Hub findings start the workflow; native findings have none to update."""
    source = _choice(values, "findingSource", FindingSource, FindingSource.SECURITY_HUB)
    reads_security_hub = source is not FindingSource.GUARDDUTY
    value = _bool(values, key, reads_security_hub)
    if value and not reads_security_hub:
        raise InvalidConfig(
            f"{NAMESPACE}:{key} needs Security Hub findings (findingSource securityhub or both): "
            "native GuardDuty findings have no Security Hub finding to update"
        )
    return value


def _home_net(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """CIDR blocks as Network Firewall's HOME_NET takes them: each a network address (no host bits)."""
    accepts = 'a list of CIDR blocks such as ["10.0.0.0/8", "172.16.0.0/12"]'
    cidrs = _string_list(values, key, accepts)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            raise _fail(key, accepts, cidr) from None
    return tuple(dict.fromkeys(cidrs))


def _protected_domains(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = 'a list of domain names such as ["corp.example.com"] (each also protects its subdomains)'
    domains = _string_list(values, key, accepts)
    try:
        ProtectedDomains.with_extra(domains)
    except ConfigurationError as error:
        raise InvalidConfig(f"{NAMESPACE}:{key} must be {accepts}: {error}") from None
    return domains


def _vpc_ids(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """VPC ids, each once (one DNS Firewall association per VPC)."""
    accepts = 'a list of VPC ids such as ["vpc-0123456789abcdef0"], each once'
    vpc_ids = _string_list(values, key, accepts)
    try:
        check_vpc_ids(vpc_ids)
    except ValueError:
        raise _fail(key, accepts, values.get(key)) from None
    return vpc_ids
