"""Stack configuration: read, validated and turned into typed values before any resource exists.

Every check here is pure, so a bad ``pulumi config`` value stops the program with a one-line message
naming the key and what it accepts, and tests can exercise every rule without Pulumi. The components
validate their inputs with the same checks (``policy_settings`` and the ``read_*`` functions), under
their own labels (``labelled``): a message names the stack's key, or the component's input.
"""

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
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
    StatefulRuleOrder,
    log_retention_problem,
)
from components.dns_firewall_settings import (
    DERIVED_PRIORITY,
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
from handlers.policy import sequence_indicator_problem
from handlers.sequences import BLOCKABLE_INDICATORS, DEFAULT_SEQUENCE_INDICATORS
from handlers.settings import (
    DEFAULT_BRAKE_MAX_NEW_BLOCKS,
    DEFAULT_BRAKE_PERIOD_MINUTES,
    DEFAULT_DNS_FIREWALL_MAX_DOMAINS,
    DEFAULT_RETENTION_MINUTES,
    DEFAULT_RULE_PRIORITY,
    DNS_FIREWALL_ACCOUNT_QUOTA,
    ENV_ACTION_TYPES,
    ENV_BRAKE_MAX_NEW_BLOCKS,
    ENV_BRAKE_PERIOD_MINUTES,
    ENV_DNS_FIREWALL_MAX_DOMAINS,
    ENV_DOMAIN_BLOCKING,
    ENV_ENFORCEMENT,
    ENV_FINDING_ACCOUNTS,
    ENV_FINDING_REGIONS,
    ENV_FINDING_TYPE_EXCLUDE,
    ENV_FINDING_TYPE_INCLUDE,
    ENV_FIREWALL_POLICY_TYPE,
    ENV_FLUSH_FIREWALL_ARNS,
    ENV_MIN_SEVERITY,
    ENV_ON_CAPACITY_FULL,
    ENV_PROTECTED_CIDRS,
    ENV_PROTECTED_DOMAINS,
    ENV_RETENTION_MINUTES,
    ENV_RULE_PRIORITY,
    ENV_SEQUENCE_INDICATORS,
    MAX_BRAKE_PERIOD_MINUTES,
    MAX_RETENTION_MINUTES,
    MIN_RETENTION_MINUTES,
    OPT_IN_ACTIONS,
    CapacityPolicy,
    DomainBlocking,
    Enforcement,
    FirewallPolicyType,
    Settings,
    WorkflowStatus,
)

NAMESPACE: Final = "nfw-blocklist"
DEFAULT_PRUNING_FREQUENCY_MINUTES: Final = 15

E = TypeVar("E", bound=StrEnum)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


class FindingSource(StrEnum):
    """Which EventBridge events start the response workflow."""

    SECURITY_HUB = "securityhub"
    """GuardDuty findings imported by Security Hub."""
    GUARDDUTY = "guardduty"
    """Native GuardDuty findings."""
    BOTH = "both"
    """Both; a finding that arrives both ways gets one response."""
    SECURITY_HUB_V2 = "securityhubv2"
    """GuardDuty findings in the new Security Hub (OCSF, "Findings Imported V2")."""
    GUARDDUTY_AND_V2 = "guardduty+securityhubv2"
    """Native findings and the new Security Hub's."""
    BOTH_SECURITY_HUBS = "securityhub+securityhubv2"
    """Security Hub CSPM's and the new Security Hub's."""
    ALL = "all"
    """Native, CSPM and the new Security Hub: one GuardDuty finding arriving three ways gets one response."""

    @property
    def reads_security_hub(self) -> bool:
        """Whether any of its ways is a Security Hub with a finding to annotate."""
        return self is not FindingSource.GUARDDUTY


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
    "statefulRuleOrder",
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
    "attackSequenceIndicators",
    "enforcement",
    "brakeMaxNewBlocks",
    "brakePeriodMinutes",
    "firewallPolicyType",
    "flushFirewallArns",
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
    ENV_SEQUENCE_INDICATORS: "attackSequenceIndicators",
    ENV_ENFORCEMENT: "enforcement",
    ENV_BRAKE_MAX_NEW_BLOCKS: "brakeMaxNewBlocks",
    ENV_BRAKE_PERIOD_MINUTES: "brakePeriodMinutes",
    ENV_FIREWALL_POLICY_TYPE: "firewallPolicyType",
    ENV_FLUSH_FIREWALL_ARNS: "flushFirewallArns",
}
"""The setting behind each variable of the functions' environment (the names in errors): the stack's
config key, which is also the ResponseStateMachine input (``labelled`` says which one a message names)."""

_LABEL: ContextVar[Callable[[str], str]] = ContextVar("label", default=lambda key: f"{NAMESPACE}:{key}")
"""How a message names a key: ``nfw-blocklist:<key>`` by default; see ``labelled``."""


def label(key: str) -> str:
    """The name of ``key`` as the current messages give it."""
    return _LABEL.get()(key)


@contextmanager
def labelled(naming: Callable[[str], str]) -> Iterator[None]:
    """Within this block, every message names a key as ``naming(key)``: another project's namespace (the
    forwarder's), or a component's input (``components.inputs``)."""
    token = _LABEL.set(naming)
    try:
        yield
    finally:
        _LABEL.reset(token)


@dataclass(frozen=True)
class StackConfig:
    """The validated configuration of one stack."""

    admin_email: str
    retention_minutes: int = DEFAULT_RETENTION_MINUTES
    pruning_frequency_minutes: int = DEFAULT_PRUNING_FREQUENCY_MINUTES
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
    stateful_rule_order: StatefulRuleOrder = StatefulRuleOrder.STRICT_ORDER
    """The rule order of the policy the domain group joins (and of the program's own policy)."""
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
    dns_firewall_priority: int | None = None
    """The association's priority; None: derived from the project and stack (``DnsFirewall``)."""
    dns_firewall_max_domains: int = DEFAULT_DNS_FIREWALL_MAX_DOMAINS
    attack_sequence_indicators: tuple[str, ...] = DEFAULT_SEQUENCE_INDICATORS
    """The attack-sequence indicator keys whose values are blocked."""
    enforcement: Enforcement = Enforcement.ENFORCE
    """Drop what the rules list, or (monitor) let it through and count it."""
    brake_max_new_blocks: int = DEFAULT_BRAKE_MAX_NEW_BLOCKS
    brake_period_minutes: int = DEFAULT_BRAKE_PERIOD_MINUTES
    firewall_policy_type: FirewallPolicyType = FirewallPolicyType.CLASSIC
    """Classic (a STATELESS group and a STATEFUL domain list) or next-generation (FIREWALL groups)."""
    flush_firewall_arns: tuple[str, ...] = ()
    """Next Generation firewalls whose flows to and from newly blocked hosts are flushed."""

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
        admin_email = read_email(values, "adminEmail")
        finding_source = read_choice(values, "findingSource", FindingSource, FindingSource.SECURITY_HUB)
        domain_blocking = read_choice(
            values, "domainBlocking", DomainBlocking, DomainBlocking.NETWORK_FIREWALL
        )
        policy = policy_settings(values, finding_source.value, domain_blocking)
        config = cls(
            admin_email=admin_email,
            retention_minutes=policy.retention_minutes,
            pruning_frequency_minutes=read_pruning_frequency(values, "pruningFrequencyMinutes"),
            rule_group_capacity=read_capacity(values, "ruleGroupCapacity"),
            rule_group_priority=policy.rule_priority,
            protected_cidrs=policy.protected_cidrs,
            finding_source=finding_source,
            min_severity=policy.min_severity,
            finding_type_include=policy.finding_type_include,
            finding_type_exclude=policy.finding_type_exclude,
            on_capacity_full=policy.on_capacity_full,
            action_types=policy.action_types,
            create_firewall_policy=read_bool(values, "createFirewallPolicy", False),
            stateful_rule_order=read_choice(
                values, "statefulRuleOrder", StatefulRuleOrder, StatefulRuleOrder.STRICT_ORDER
            ),
            log_retention_days=read_log_retention(values, "logRetentionDays"),
            accept_findings_from=read_principals(values, "acceptFindingsFrom"),
            finding_regions=policy.finding_regions,
            finding_accounts=policy.finding_accounts,
            alarms=read_bool(values, "alarms", True),
            capacity_alarm_percent=read_capacity_alarm_percent(values, "capacityAlarmPercent"),
            update_findings=read_update_findings(values, "updateFindings", finding_source),
            finding_workflow_status=policy.finding_workflow_status,
            domain_blocking=domain_blocking,
            domain_rule_group_capacity=read_domain_capacity(values, "domainRuleGroupCapacity"),
            home_net_cidrs=read_home_net(values, "homeNetCidrs"),
            protected_domains=policy.protected_domains,
            dns_firewall_vpc_ids=read_vpc_ids(values, "dnsFirewallVpcIds"),
            dns_firewall_block_response=read_choice(
                values, "dnsFirewallBlockResponse", BlockResponse, BlockResponse.NODATA
            ),
            dns_firewall_priority=read_association_priority(values, "dnsFirewallPriority"),
            dns_firewall_max_domains=policy.dns_firewall_max_domains,
            attack_sequence_indicators=policy.sequence_indicators,
            enforcement=policy.enforcement,
            brake_max_new_blocks=policy.brake_max_new_blocks,
            brake_period_minutes=policy.brake_period_minutes,
            firewall_policy_type=policy.firewall_policy_type,
            flush_firewall_arns=policy.flush_firewall_arns,
        )
        if config.dns_firewall and not config.dns_firewall_vpc_ids:
            raise InvalidConfig(
                f"{label('dnsFirewallVpcIds')} is required with domainBlocking {config.domain_blocking}: "
                "DNS Firewall filters only the VPCs its rule group is associated with"
            )
        if config.enforcement is Enforcement.MONITOR and (
            config.firewall_policy_type is FirewallPolicyType.NEXT_GENERATION
        ):
            raise InvalidConfig(
                f"{label('enforcement')} monitor is not available with firewallPolicyType next-generation: "
                "the firewall engine has no alert-only rule action (set the policy's PolicyMode to MONITOR)"
            )
        check_bus_policy(config.accept_findings_from)
        return config

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
            sequence_indicators=self.attack_sequence_indicators,
            enforcement=self.enforcement,
            brake_max_new_blocks=self.brake_max_new_blocks,
            brake_period_minutes=self.brake_period_minutes,
            firewall_policy_type=self.firewall_policy_type,
            flush_firewall_arns=self.flush_firewall_arns,
        )


def policy_settings(
    values: Mapping[str, Any],
    finding_source: str,
    domain_blocking: DomainBlocking,
    table_name: str = "",
    rule_group_arn: str = "",
) -> Settings:
    """The functions' policy from raw values by key (``ENVIRONMENT_KEYS``' and ``findingWorkflowStatus``;
    a missing key takes its default), checked as a whole: Lambda's 4 KB environment, and EventBridge's
    pattern size with ``finding_source``."""
    settings = Settings(
        table_name=table_name,
        rule_group_arn=rule_group_arn,
        rule_priority=read_int(values, "ruleGroupPriority", DEFAULT_RULE_PRIORITY, 1, MAX_SOURCE_PRIORITY),
        retention_minutes=read_int(
            values,
            "retentionMinutes",
            DEFAULT_RETENTION_MINUTES,
            MIN_RETENTION_MINUTES,
            MAX_RETENTION_MINUTES,
        ),
        protected_cidrs=read_cidrs(values, "protectedCidrs"),
        min_severity=read_severity(values, "minSeverity"),
        finding_type_include=read_prefixes(values, "findingTypeInclude"),
        finding_type_exclude=read_prefixes(values, "findingTypeExclude"),
        on_capacity_full=read_choice(values, "onCapacityFull", CapacityPolicy, CapacityPolicy.EVICT_OLDEST),
        action_types=read_action_types(values, "actionTypes"),
        finding_regions=read_regions(values, "findingRegions"),
        finding_accounts=read_accounts(values, "findingAccounts"),
        finding_workflow_status=read_choice(
            values, "findingWorkflowStatus", WorkflowStatus, WorkflowStatus.NOTIFIED
        ),
        domain_blocking=domain_blocking,
        protected_domains=read_protected_domains(values, "protectedDomains"),
        dns_firewall_max_domains=read_int(
            values, "dnsFirewallMaxDomains", DEFAULT_DNS_FIREWALL_MAX_DOMAINS, 1, DNS_FIREWALL_ACCOUNT_QUOTA
        ),
        sequence_indicators=read_sequence_indicators(values, "attackSequenceIndicators"),
        enforcement=read_choice(values, "enforcement", Enforcement, Enforcement.ENFORCE),
        brake_max_new_blocks=read_int(
            values, "brakeMaxNewBlocks", DEFAULT_BRAKE_MAX_NEW_BLOCKS, 1, 1_000_000
        ),
        brake_period_minutes=read_int(
            values, "brakePeriodMinutes", DEFAULT_BRAKE_PERIOD_MINUTES, 1, MAX_BRAKE_PERIOD_MINUTES
        ),
        firewall_policy_type=read_choice(
            values, "firewallPolicyType", FirewallPolicyType, FirewallPolicyType.CLASSIC
        ),
        flush_firewall_arns=read_firewall_arns(values, "flushFirewallArns"),
    )
    if settings.flush_firewall_arns and settings.firewall_policy_type is FirewallPolicyType.CLASSIC:
        raise InvalidConfig(
            f"{label('flushFirewallArns')} applies to firewallPolicyType next-generation: a Classic "
            "stateless rule drops every packet of a blocked host, open connections included"
        )
    check_function_environment(settings)
    check_event_patterns(
        finding_source,
        settings.action_types,
        settings.finding_regions,
        settings.finding_accounts,
        domains=domain_blocking is not DomainBlocking.OFF,
    )
    return settings


def check_function_environment(settings: Settings) -> None:
    """Lambda refuses a function whose environment exceeds 4 KB: say which setting to shorten."""
    overflow = environment_overflow(settings.policy_environment(), reserved_names(settings))
    if overflow is not None:
        total, variable = overflow
        raise InvalidConfig(
            f"{label(ENVIRONMENT_KEYS[variable])} is too long: it makes the functions' environment "
            f"up to {total} bytes and Lambda accepts {LAMBDA_ENVIRONMENT_BYTES} in all; "
            "shorten the list (merge CIDRs, drop prefixes)"
        )


def read_capacity(values: Mapping[str, Any], key: str) -> int:
    return read_int(values, key, DEFAULT_CAPACITY, MIN_CAPACITY, MAX_STATELESS_CAPACITY)


def read_domain_capacity(values: Mapping[str, Any], key: str) -> int:
    return read_int(values, key, DEFAULT_DOMAIN_CAPACITY, MIN_DOMAIN_CAPACITY, MAX_STATEFUL_CAPACITY)


def read_pruning_frequency(values: Mapping[str, Any], key: str) -> int:
    return read_int(values, key, DEFAULT_PRUNING_FREQUENCY_MINUTES, 5, 180)


def read_capacity_alarm_percent(values: Mapping[str, Any], key: str) -> int:
    return read_int(values, key, DEFAULT_CAPACITY_ALARM_PERCENT, 1, 100)


def read_association_priority(values: Mapping[str, Any], key: str) -> int | None:
    """A priority from AWS's range, or None (left out, or 0): derive one from the stack."""
    accepts = (
        f"{DERIVED_PRIORITY} (derived from the project and stack) or an integer from "
        f"{MIN_ASSOCIATION_PRIORITY} to {MAX_ASSOCIATION_PRIORITY}"
    )
    try:
        value = read_int(values, key, DERIVED_PRIORITY, DERIVED_PRIORITY, MAX_ASSOCIATION_PRIORITY)
    except InvalidConfig:
        raise _fail(key, accepts, values[key]) from None
    if value == DERIVED_PRIORITY:
        return None
    if value < MIN_ASSOCIATION_PRIORITY:
        raise _fail(key, accepts, values[key])
    return value


def _fail(key: str, accepts: str, raw: Any) -> InvalidConfig:
    return InvalidConfig(f"{label(key)} must be {accepts}, got {raw!r}")


def read_email(values: Mapping[str, Any], key: str) -> str:
    raw = values.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidConfig(
            f"{label(key)} is required: the e-mail address that receives notifications "
            f"(pulumi config set {key} you@example.com)"
        )
    if not isinstance(raw, str) or not _EMAIL.match(raw.strip()):
        raise _fail(key, "an e-mail address such as security-team@example.com", raw)
    return raw.strip()


def read_int(values: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = values.get(key)
    if raw is None:
        return default
    accepts = f"an integer from {low} to {high}"
    if isinstance(raw, bool):
        raise _fail(key, accepts, raw)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        # A component input from another language: protobuf carries every number as a double, and the
        # SDK's component provider hands an integer input on as that float.
        value = int(raw)
    elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        value = int(raw)
    else:
        raise _fail(key, accepts, raw)
    if not low <= value <= high:
        raise _fail(key, accepts, raw)
    return value


def read_severity(values: Mapping[str, Any], key: str) -> float:
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


def read_bool(values: Mapping[str, Any], key: str, default: bool) -> bool:
    raw = values.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in {"true", "false"}:
        return raw.strip().lower() == "true"
    raise _fail(key, "true or false", raw)


def read_choice(values: Mapping[str, Any], key: str, enum: type[E], default: E) -> E:
    raw = values.get(key)
    if raw is None:
        return default
    try:
        return enum(raw)
    except ValueError:
        raise _fail(key, "one of " + ", ".join(member.value for member in enum), raw) from None


def read_string_list(values: Mapping[str, Any], key: str, accepts: str) -> tuple[str, ...]:
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


def read_cidrs(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = 'a list of IPv4 or IPv6 CIDRs such as ["10.0.0.0/8"]'
    cidrs = read_string_list(values, key, accepts)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise _fail(key, accepts, cidr) from None
    return cidrs


def read_prefixes(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = 'a list of non-empty finding-type prefixes such as ["Backdoor:", "CryptoCurrency:"]'
    prefixes = read_string_list(values, key, accepts)
    if any(not prefix for prefix in prefixes):
        raise _fail(key, accepts, values.get(key))
    return prefixes


def read_action_types(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = "a list drawn from " + ", ".join(OPT_IN_ACTIONS)
    actions = read_string_list(values, key, accepts)
    unknown = [action for action in actions if action not in OPT_IN_ACTIONS]
    if unknown:
        raise _fail(key, accepts, unknown[0])
    return tuple(dict.fromkeys(actions))


def read_sequence_indicators(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The indicator keys whose values an attack sequence blocks; left out: every blockable one, ``[]``:
    none. A key whose values are no host (``SUSPICIOUS_NETWORK``...) is refused, saying why."""
    if values.get(key) is None:
        return DEFAULT_SEQUENCE_INDICATORS
    accepts = "a list drawn from " + ", ".join(BLOCKABLE_INDICATORS)
    keys = read_string_list(values, key, accepts)
    for item in keys:
        problem = sequence_indicator_problem(item)
        if problem is not None:
            raise InvalidConfig(f"{label(key)}: {problem}")
    return tuple(dict.fromkeys(keys))


def read_log_retention(values: Mapping[str, Any], key: str) -> int:
    value = read_int(values, key, DEFAULT_LOG_RETENTION_DAYS, 1, max(LOG_RETENTION_DAYS))
    problem = log_retention_problem(value)
    if problem is not None:
        raise _fail(key, problem, values[key])
    return value


# --- Organization scale: who may send findings, and which findings a stack acts on ---


def read_identifiers(values: Mapping[str, Any], key: str, accepts: str, valid: Any) -> tuple[str, ...]:
    """A list of identifiers each accepted by ``valid``, without duplicates, in the order given."""
    items = read_string_list(values, key, f"a list of {accepts}")
    bad = next((item for item in items if not valid(item)), None)
    if bad is not None:
        raise _fail(key, f"a list of {accepts}", bad)
    return tuple(dict.fromkeys(items))


def read_principals(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return read_identifiers(values, key, ACCEPTS, is_principal)


def read_regions(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return read_identifiers(values, key, REGIONS, REGION.fullmatch)


def read_accounts(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return read_identifiers(values, key, ACCOUNTS, ACCOUNT_ID.fullmatch)


def check_event_patterns(
    finding_source: str,
    action_types: Sequence[str],
    regions: Sequence[str],
    accounts: Sequence[str],
    domains: bool = False,
) -> None:
    """EventBridge refuses a rule whose pattern exceeds its quota: name the list to shorten."""
    problem = pattern_size_problem(
        scoped_patterns_for(finding_source, action_types, regions, accounts, domains)
    )
    if problem is not None:
        key = "findingAccounts" if len(",".join(accounts)) >= len(",".join(regions)) else "findingRegions"
        raise InvalidConfig(f"{label(key)} is too long: it {problem}; list fewer accounts or regions")


def check_bus_policy(principals: Sequence[str]) -> None:
    length = finding_bus_policy_overflow(principals)
    if length is not None:
        raise InvalidConfig(
            f"{label('acceptFindingsFrom')} is too long: it makes the finding bus's policy up to {length} "
            f"characters and EventBridge accepts {EVENT_BUS_POLICY_CHARS}; accept the organization ID "
            "instead of its accounts"
        )


def namespaced(namespace: str) -> AbstractContextManager[None]:
    """Errors of the validators above, for a key of another project (the forwarder's), name its namespace."""
    return labelled(lambda key: f"{namespace}:{key}")


def read_update_findings(values: Mapping[str, Any], key: str, source: FindingSource) -> bool:
    """On by default (``auto``, the stack's default) when Security Hub findings start the workflow;
    native findings have none to update."""
    reads_security_hub = source.reads_security_hub
    raw = values.get(key)
    if isinstance(raw, str) and raw.strip() == "auto":
        return reads_security_hub
    if raw is not None and not isinstance(raw, bool) and str(raw).strip().lower() not in {"true", "false"}:
        raise _fail(key, "auto, true or false", raw)
    value = read_bool(values, key, reads_security_hub)
    if value and not reads_security_hub:
        raise InvalidConfig(
            f"{label(key)} needs Security Hub findings (a findingSource other than guardduty): "
            "native GuardDuty findings have no Security Hub finding to update"
        )
    return value


def read_home_net(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """CIDR blocks as Network Firewall's HOME_NET takes them: each a network address (no host bits)."""
    accepts = 'a list of CIDR blocks such as ["10.0.0.0/8", "172.16.0.0/12"]'
    cidrs = read_string_list(values, key, accepts)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            raise _fail(key, accepts, cidr) from None
    return tuple(dict.fromkeys(cidrs))


def read_protected_domains(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    accepts = 'a list of domain names such as ["corp.example.com"] (each also protects its subdomains)'
    domains = read_string_list(values, key, accepts)
    try:
        ProtectedDomains.with_extra(domains)
    except ConfigurationError as error:
        raise InvalidConfig(f"{label(key)} must be {accepts}: {error}") from None
    return domains


FIREWALL_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:network-firewall:[a-z0-9-]+:\d{12}:firewall/[A-Za-z0-9-]{1,128}$"
)


def read_firewall_arns(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """Network Firewall firewall ARNs, each once (the firewalls StartFlowFlush is called on)."""
    accepts = (
        'a list of firewall ARNs such as ["arn:aws:network-firewall:us-east-1:111122223333:firewall/fw"]'
    )
    arns = read_string_list(values, key, accepts)
    if len(set(arns)) != len(arns) or not all(FIREWALL_ARN.match(arn) for arn in arns):
        raise _fail(key, accepts, values.get(key))
    return arns


def read_vpc_ids(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """VPC ids, each once (one DNS Firewall association per VPC)."""
    accepts = 'a list of VPC ids such as ["vpc-0123456789abcdef0"], each once'
    vpc_ids = read_string_list(values, key, accepts)
    try:
        check_vpc_ids(vpc_ids)
    except ValueError:
        raise _fail(key, accepts, values.get(key)) from None
    return vpc_ids
