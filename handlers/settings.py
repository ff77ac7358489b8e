"""The functions' configuration, carried in environment variables that the components set.

The names below are the whole contract between ``components`` (which writes them) and the
handlers (which read them); both import them from here.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from handlers.errors import ConfigurationError
from handlers.sequences import DEFAULT_SEQUENCE_INDICATORS

E = TypeVar("E", bound=StrEnum)

ENV_TABLE_NAME: Final = "NFW_TABLE_NAME"
ENV_RULE_GROUP_ARN: Final = "NFW_RULE_GROUP_ARN"
ENV_RULE_PRIORITY: Final = "NFW_RULE_PRIORITY"
ENV_RETENTION_MINUTES: Final = "NFW_RETENTION_MINUTES"
ENV_PROTECTED_CIDRS: Final = "NFW_PROTECTED_CIDRS"
ENV_MIN_SEVERITY: Final = "NFW_MIN_SEVERITY"
ENV_FINDING_TYPE_INCLUDE: Final = "NFW_FINDING_TYPE_INCLUDE"
ENV_FINDING_TYPE_EXCLUDE: Final = "NFW_FINDING_TYPE_EXCLUDE"
ENV_ON_CAPACITY_FULL: Final = "NFW_ON_CAPACITY_FULL"
ENV_ACTION_TYPES: Final = "NFW_ACTION_TYPES"
ENV_FINDING_REGIONS: Final = "NFW_FINDING_REGIONS"
ENV_FINDING_ACCOUNTS: Final = "NFW_FINDING_ACCOUNTS"
ENV_FINDING_WORKFLOW_STATUS: Final = "NFW_FINDING_WORKFLOW_STATUS"
ENV_DOMAIN_BLOCKING: Final = "NFW_DOMAIN_BLOCKING"
ENV_DOMAIN_RULE_GROUP_ARN: Final = "NFW_DOMAIN_RULE_GROUP_ARN"
ENV_PROTECTED_DOMAINS: Final = "NFW_PROTECTED_DOMAINS"
ENV_DNS_FIREWALL_DOMAIN_LIST_ID: Final = "NFW_DNS_FIREWALL_DOMAIN_LIST_ID"
ENV_DNS_FIREWALL_MAX_DOMAINS: Final = "NFW_DNS_FIREWALL_MAX_DOMAINS"
ENV_SEQUENCE_INDICATORS: Final = "NFW_SEQUENCE_INDICATORS"
ENV_ENFORCEMENT: Final = "NFW_ENFORCEMENT"
ENV_BRAKE_MAX_NEW_BLOCKS: Final = "NFW_BRAKE_MAX_NEW_BLOCKS"
ENV_BRAKE_PERIOD_MINUTES: Final = "NFW_BRAKE_PERIOD_MINUTES"
DEFAULT_BRAKE_MAX_NEW_BLOCKS: Final = 1500
"""``brakeMaxNewBlocks``: the bench's 1,000-finding burst blocks 1,000 new hosts (BENCHMARKS.md, burst row)
and a real port probe names tens; a flood of thousands of distinct hosts in minutes stops at 1,500."""
DEFAULT_BRAKE_PERIOD_MINUTES: Final = 60
MAX_BRAKE_PERIOD_MINUTES: Final = 10080
ENV_FIREWALL_POLICY_TYPE: Final = "NFW_FIREWALL_POLICY_TYPE"
ENV_FLUSH_FIREWALL_ARNS: Final = "NFW_FLUSH_FIREWALL_ARNS"

DEFAULT_RULE_PRIORITY: Final = 30000
DESTINATION_PRIORITY_OFFSET: Final = 100
"""The destination rule sits this far above the source rule, as in the reference."""
MAX_RULE_PRIORITY: Final = 65535
DEFAULT_RETENTION_MINUTES: Final = 720
MIN_RETENTION_MINUTES: Final = 5
MAX_RETENTION_MINUTES: Final = 10080
DEFAULT_DNS_FIREWALL_MAX_DOMAINS: Final = 10_000
"""``dnsFirewallMaxDomains`` unless configured: a tenth of the account's 100,000-domain DNS Firewall
quota, which every domain list of the account and region shares."""
DNS_FIREWALL_ACCOUNT_QUOTA: Final = 100_000

ALWAYS_ENABLED_ACTIONS: Final = ("networkConnectionAction", "portProbeAction")
OPT_IN_ACTIONS: Final = ("awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction")


class WorkflowStatus(StrEnum):
    """What the annotation sets ``Workflow.Status`` of an annotated Security Hub finding to."""

    NOTIFIED = "NOTIFIED"
    """Someone was told about the finding (the block notification)."""
    RESOLVED = "RESOLVED"
    """The finding is dealt with."""
    NONE = "NONE"
    """Leave the finding's workflow status alone."""


class DomainBlocking(StrEnum):
    """Config ``domainBlocking``: which enforcement points block the domains DNS findings name."""

    NETWORK_FIREWALL = "network-firewall"
    """The stateful domain-list rule group."""
    DNS_FIREWALL = "dns-firewall"
    """Route 53 Resolver DNS Firewall."""
    BOTH = "both"
    """Both; a domain is confirmed once both hold it."""
    OFF = "off"
    """DNS findings are not acted on."""

    @property
    def points(self) -> tuple[str, ...]:
        """The names of the enforcement points this mode writes, in the order the writer calls them."""
        if self is DomainBlocking.BOTH:
            return (DomainBlocking.NETWORK_FIREWALL.value, DomainBlocking.DNS_FIREWALL.value)
        if self is DomainBlocking.OFF:
            return ()
        return (self.value,)


class Enforcement(StrEnum):
    """Config ``enforcement``: whether the rules drop what they list or only count it."""

    ENFORCE = "enforce"
    """Drop: the stateless rules drop, the domain list denies, DNS Firewall blocks."""
    MONITOR = "monitor"
    """A trial run: the same rules, written the same way, that let traffic through while counting it
    (a metric action with ``aws:forward_to_sfe``, an ALERTLIST, DNS Firewall's ALERT)."""


class FirewallPolicyType(StrEnum):
    """Config ``firewallPolicyType``: which kind of firewall policy the tool's rule groups serve."""

    CLASSIC = "classic"
    """A Classic policy: the IP hosts in a STATELESS group, domains in a STATEFUL domain list."""
    NEXT_GENERATION = "next-generation"
    """A Next Generation policy (FirewallPolicyV2): both in FIREWALL groups (``handlers.engine_rules``)."""

    @property
    def rule_group_type(self) -> str:
        """The Type the tool's rule groups are created and described with."""
        return "FIREWALL" if self is FirewallPolicyType.NEXT_GENERATION else "STATELESS"

    @property
    def domain_rule_group_type(self) -> str:
        return "FIREWALL" if self is FirewallPolicyType.NEXT_GENERATION else "STATEFUL"


class CapacityPolicy(StrEnum):
    """What the block step does when the rule group has no room for a new host."""

    EVICT_OLDEST = "evict-oldest"
    """Unblock the least recently seen finding hosts (never a manual block) to make room."""
    REFUSE = "refuse"
    """Fail the execution (CapacityExceeded) and leave the group as it is."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    rule_group_arn: str
    rule_priority: int = DEFAULT_RULE_PRIORITY
    retention_minutes: int = DEFAULT_RETENTION_MINUTES
    protected_cidrs: tuple[str, ...] = ()
    """Never-block CIDRs added to the built-in list (which cannot be removed)."""
    min_severity: float = 0.0
    finding_type_include: tuple[str, ...] = ()
    finding_type_exclude: tuple[str, ...] = ()
    on_capacity_full: CapacityPolicy = CapacityPolicy.EVICT_OLDEST
    action_types: tuple[str, ...] = ()
    """Opt-in GuardDuty action types besides networkConnectionAction and portProbeAction."""
    finding_regions: tuple[str, ...] = ()
    """Act only on findings found in these regions (the finding's own region); empty means every region."""
    finding_accounts: tuple[str, ...] = ()
    """Act only on findings of these accounts (the finding's own account); empty means every account."""
    finding_workflow_status: WorkflowStatus = WorkflowStatus.NOTIFIED
    """``Workflow.Status`` the annotation sets on a Security Hub finding it annotates."""
    domain_blocking: DomainBlocking = DomainBlocking.OFF
    """Where DNS findings' domains are blocked; off when the variable is unset (the stack's default is
    network-firewall, which the components always write)."""
    domain_rule_group_arn: str = ""
    """The stateful domain-list rule group (needed when ``domain_blocking`` includes network-firewall)."""
    protected_domains: tuple[str, ...] = ()
    """Never-block domains added to the built-in list; each also protects its subdomains."""
    dns_firewall_domain_list_id: str = ""
    """The DNS Firewall domain list (needed when ``domain_blocking`` includes dns-firewall)."""
    dns_firewall_max_domains: int = DEFAULT_DNS_FIREWALL_MAX_DOMAINS
    """How many domains the DNS Firewall list may hold (the account's quota is shared)."""
    sequence_indicators: tuple[str, ...] = DEFAULT_SEQUENCE_INDICATORS
    """The attack-sequence indicator keys whose values are blocked (``attackSequenceIndicators``); an
    unset variable is the default, an empty list blocks nothing an attack sequence names."""
    enforcement: Enforcement = Enforcement.ENFORCE
    """Drop what the rules list, or (monitor) only count it."""
    brake_max_new_blocks: int = DEFAULT_BRAKE_MAX_NEW_BLOCKS
    """The brake: at most this many new blocks (hosts not yet in the ledger) per period; above it new
    blocks are refused until an operator releases the brake (``handlers.brake``)."""
    brake_period_minutes: int = DEFAULT_BRAKE_PERIOD_MINUTES

    @property
    def monitor(self) -> bool:
        """A trial run: nothing is dropped, everything the rules list is counted."""
        return self.enforcement is Enforcement.MONITOR

    firewall_policy_type: FirewallPolicyType = FirewallPolicyType.CLASSIC
    """Which policy type the rule groups serve; Classic when the variable is unset."""
    flush_firewall_arns: tuple[str, ...] = ()
    """Next Generation firewalls whose flows to and from a newly blocked host are flushed (StartFlowFlush)."""

    @property
    def destination_priority(self) -> int:
        return self.rule_priority + DESTINATION_PRIORITY_OFFSET

    @property
    def retention_seconds(self) -> int:
        return self.retention_minutes * 60

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        """Read the settings, naming the variable at fault in the error."""
        return cls(
            table_name=_required(env, ENV_TABLE_NAME),
            rule_group_arn=_required(env, ENV_RULE_GROUP_ARN),
            rule_priority=_int(env, ENV_RULE_PRIORITY, DEFAULT_RULE_PRIORITY),
            retention_minutes=_int(env, ENV_RETENTION_MINUTES, DEFAULT_RETENTION_MINUTES),
            protected_cidrs=_str_list(env, ENV_PROTECTED_CIDRS),
            min_severity=_float(env, ENV_MIN_SEVERITY, 0.0),
            finding_type_include=_str_list(env, ENV_FINDING_TYPE_INCLUDE),
            finding_type_exclude=_str_list(env, ENV_FINDING_TYPE_EXCLUDE),
            on_capacity_full=_choice(env, ENV_ON_CAPACITY_FULL, CapacityPolicy.EVICT_OLDEST),
            action_types=_str_list(env, ENV_ACTION_TYPES),
            finding_regions=_str_list(env, ENV_FINDING_REGIONS),
            finding_accounts=_str_list(env, ENV_FINDING_ACCOUNTS),
            finding_workflow_status=_choice(env, ENV_FINDING_WORKFLOW_STATUS, WorkflowStatus.NOTIFIED),
            domain_blocking=_choice(env, ENV_DOMAIN_BLOCKING, DomainBlocking.OFF),
            domain_rule_group_arn=env.get(ENV_DOMAIN_RULE_GROUP_ARN, "").strip(),
            protected_domains=_str_list(env, ENV_PROTECTED_DOMAINS),
            dns_firewall_domain_list_id=env.get(ENV_DNS_FIREWALL_DOMAIN_LIST_ID, "").strip(),
            dns_firewall_max_domains=_int(
                env, ENV_DNS_FIREWALL_MAX_DOMAINS, DEFAULT_DNS_FIREWALL_MAX_DOMAINS
            ),
            sequence_indicators=(
                _str_list(env, ENV_SEQUENCE_INDICATORS)
                if env.get(ENV_SEQUENCE_INDICATORS, "").strip()
                else DEFAULT_SEQUENCE_INDICATORS
            ),
            enforcement=_choice(env, ENV_ENFORCEMENT, Enforcement.ENFORCE),
            brake_max_new_blocks=_int(env, ENV_BRAKE_MAX_NEW_BLOCKS, DEFAULT_BRAKE_MAX_NEW_BLOCKS),
            brake_period_minutes=_int(env, ENV_BRAKE_PERIOD_MINUTES, DEFAULT_BRAKE_PERIOD_MINUTES),
            firewall_policy_type=_choice(env, ENV_FIREWALL_POLICY_TYPE, FirewallPolicyType.CLASSIC),
            flush_firewall_arns=_str_list(env, ENV_FLUSH_FIREWALL_ARNS),
        )

    def policy_environment(self) -> dict[str, str]:
        """Every variable except the resource names, as the components write them.

        The organization filters are written only when set, so a stack without them keeps all of Lambda's
        4 KB environment for the lists it had before (``from_env`` reads a missing one as empty).
        """
        scope = {
            name: json.dumps(list(values))
            for name, values in (
                (ENV_FINDING_REGIONS, self.finding_regions),
                (ENV_FINDING_ACCOUNTS, self.finding_accounts),
            )
            if values
        }
        return {
            ENV_RULE_PRIORITY: str(self.rule_priority),
            ENV_RETENTION_MINUTES: str(self.retention_minutes),
            ENV_PROTECTED_CIDRS: json.dumps(list(self.protected_cidrs)),
            ENV_MIN_SEVERITY: repr(float(self.min_severity)),
            ENV_FINDING_TYPE_INCLUDE: json.dumps(list(self.finding_type_include)),
            ENV_FINDING_TYPE_EXCLUDE: json.dumps(list(self.finding_type_exclude)),
            ENV_ON_CAPACITY_FULL: str(self.on_capacity_full),
            ENV_ACTION_TYPES: json.dumps(list(self.action_types)),
            **scope,
            # Only when not the default: a stack that keeps it keeps its whole 4 KB for protectedCidrs.
            **(
                {ENV_SEQUENCE_INDICATORS: json.dumps(list(self.sequence_indicators))}
                if self.sequence_indicators != DEFAULT_SEQUENCE_INDICATORS
                else {}
            ),
            # Only in monitor mode: unset means enforce, so an enforcing stack's environment is as before.
            **({ENV_ENFORCEMENT: str(self.enforcement)} if self.monitor else {}),
            # The brake's only when not the default (unset reads as the default).
            **(
                {ENV_BRAKE_MAX_NEW_BLOCKS: str(self.brake_max_new_blocks)}
                if self.brake_max_new_blocks != DEFAULT_BRAKE_MAX_NEW_BLOCKS
                else {}
            ),
            **(
                {ENV_BRAKE_PERIOD_MINUTES: str(self.brake_period_minutes)}
                if self.brake_period_minutes != DEFAULT_BRAKE_PERIOD_MINUTES
                else {}
            ),
            # Only for Next Generation: a Classic stack's environment is exactly what it was.
            **(
                {
                    ENV_FIREWALL_POLICY_TYPE: str(self.firewall_policy_type),
                    **(
                        {ENV_FLUSH_FIREWALL_ARNS: json.dumps(list(self.flush_firewall_arns))}
                        if self.flush_firewall_arns
                        else {}
                    ),
                }
                if self.firewall_policy_type is FirewallPolicyType.NEXT_GENERATION
                else {}
            ),
            # Only when on: a stack without domain blocking keeps its whole 4 KB for protectedCidrs.
            **(
                {
                    ENV_DOMAIN_BLOCKING: str(self.domain_blocking),
                    ENV_PROTECTED_DOMAINS: json.dumps(list(self.protected_domains)),
                    **(
                        {ENV_DNS_FIREWALL_MAX_DOMAINS: str(self.dns_firewall_max_domains)}
                        if DomainBlocking.DNS_FIREWALL.value in self.domain_blocking.points
                        else {}
                    ),
                }
                if self.domain_blocking is not DomainBlocking.OFF
                else {}
            ),
        }

    def annotation_environment(self) -> dict[str, str]:
        """What the annotate function reads besides the resource names (it needs none of the policy)."""
        return {
            ENV_FINDING_WORKFLOW_STATUS: str(self.finding_workflow_status),
            **({ENV_ENFORCEMENT: str(self.enforcement)} if self.monitor else {}),
        }


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be a number, got {raw!r}") from None


def _str_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigurationError(f"environment variable {name} must be a JSON list of strings") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"environment variable {name} must be a JSON list of strings")
    return tuple(value)


def _choice(env: Mapping[str, str], name: str, default: E) -> E:
    """The value of variable ``name`` as a member of ``default``'s enum (unset or blank: ``default``)."""
    kind = type(default)
    raw = env.get(name, "").strip() or default.value
    try:
        return kind(raw)
    except ValueError:
        accepted = ", ".join(member.value for member in kind)
        raise ConfigurationError(f"environment variable {name} must be one of {accepted}") from None
