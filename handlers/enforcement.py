"""Where blocked domains are enforced: one small interface, and the points the settings switch on.

An enforcement point holds a set of canonical domains (``handlers.domains``) and is told the
difference to apply; the domain writer (``handlers.domain_writer``) owns the ledger side, the lease,
coalescing, capacity and eviction, and calls every configured point with the same set. A point never
retries by itself: it raises ``StaleToken`` (a lost optimistic-concurrency race: the writer plans
again) or ``Transient`` (throttling, 5xx: the writer backs off), and the domain errors of
``handlers.errors`` for anything final.

Points:
- ``network-firewall``: a stateful Network Firewall rule group whose ``RulesSourceList`` (DENYLIST,
  TLS_SNI + HTTP_HOST) is the whole of the solution's domain list (``NetworkFirewallDomains``, below).
- ``dns-firewall``: a Route 53 Resolver DNS Firewall domain list (registered in ``POINT_FACTORIES``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.dns_firewall import DnsFirewallDomains
from handlers.errors import ConfigurationError, FirewallRejected, FirewallUnavailable, RuleGroupNotFound
from handlers.firewall import CONTENT_MEMBER, TRANSIENT_CODES, StaleToken, Transient
from handlers.settings import DomainBlocking, Settings

NETWORK_FIREWALL: Final = DomainBlocking.NETWORK_FIREWALL.value
DNS_FIREWALL: Final = DomainBlocking.DNS_FIREWALL.value


class DomainEnforcementPoint(Protocol):
    """One place that blocks domains. Implementations: ``NetworkFirewallDomains``, the DNS Firewall list."""

    name: str
    """The point's name as config spells it (``network-firewall``, ``dns-firewall``)."""

    def max_domains(self) -> int | None:
        """How many domains the point can hold (None: no limit of its own)."""
        ...

    def current(self) -> set[str]:
        """Every domain the point blocks now (one fresh read: the writer repairs drift from it)."""
        ...

    def apply(self, add: Sequence[str], remove: Sequence[str]) -> None:
        """Block ``add`` and stop blocking ``remove`` (both canonical domains, disjoint), all or nothing.

        Raises ``StaleToken`` when someone else changed the point meanwhile (the writer plans again),
        ``Transient`` for throttling or a 5xx, a domain error for anything else.
        """
        ...


@dataclass(frozen=True)
class Clients:
    """The AWS clients points are built with: injected by tests and the sandbox, else created lazily."""

    network_firewall: Any = None
    route53resolver: Any = None
    region: str | None = None


# -- Network Firewall: a stateful domain-list rule group --------------------------------------------

DOMAIN_TARGET_TYPES: Final = ("TLS_SNI", "HTTP_HOST")
"""What the stateful engine matches a domain against: the TLS ClientHello's SNI and HTTP's Host header."""
GENERATED_RULES_TYPE: Final = "DENYLIST"
MONITOR_RULES_TYPE: Final = "ALERTLIST"
"""Monitor mode's list: the same domains, matched the same way, alerted on and let through."""
OUR_RULES_TYPES: Final = (GENERATED_RULES_TYPE, MONITOR_RULES_TYPE)
PLACEHOLDER_TARGET: Final = "nfw-blocklist-placeholder.invalid"
"""Stands in the list while no domain is blocked. The API model gives ``Targets`` no minimum, but the
console refuses an empty list and the API reference does not say that UpdateRuleGroup accepts one, so
the list is never sent empty. ``.invalid`` is reserved (RFC 6761) and never resolves: it blocks nothing."""
CAPACITY_PER_DOMAIN: Final = len(DOMAIN_TARGET_TYPES)
"""Capacity units a domain costs: one generated rule per target type (see ``domain_list_capacity``)."""
CAPACITY_OVERHEAD: Final = len(DOMAIN_TARGET_TYPES)
"""Units a domain list costs on top of its domains: one per target type."""


MAX_STATEFUL_CAPACITY: Final = 30000
"""The largest capacity a stateful rule group may be created with (Network Firewall quotas)."""


def domain_list_capacity(domains: int) -> int:
    """Capacity a DENYLIST over ``domains`` targets (TLS_SNI + HTTP_HOST) consumes.

    AWS does not document the cost of a domain list. The best public evidence is a measurement
    (cloudnetworks.io, "Stateful rule group capacity", 2021): a group of capacity 100 inspecting one
    protocol took 99 domains and refused 100, and refused again once a second protocol was added, i.e.
    domains x protocols + protocols. Encoded as is; ``CreateRuleGroup`` with ``DryRun`` on a real account
    reports the exact figure, and the sandbox's emulator enforces this same formula independently.
    """
    return max(1, domains) * CAPACITY_PER_DOMAIN + CAPACITY_OVERHEAD


DEFAULT_DOMAIN_CAPACITY: Final = 2002
"""Config ``domainRuleGroupCapacity``'s default: room for 1,000 domains (``domain_list_capacity(1000)``)."""
MIN_DOMAIN_CAPACITY: Final = 4
"""Room for one domain: ``domain_list_capacity(1)``."""


def domains_that_fit(capacity: int) -> int:
    """The most domains a group of ``capacity`` can hold (the placeholder counts when it is empty)."""
    return max(0, (capacity - CAPACITY_OVERHEAD) // CAPACITY_PER_DOMAIN)


def rules_type(monitor: bool) -> str:
    """The domain list's ``GeneratedRulesType``: deny, or (monitor mode) alert."""
    return MONITOR_RULES_TYPE if monitor else GENERATED_RULES_TYPE


def domain_rules_source(domains: Sequence[str], monitor: bool = False) -> dict[str, Any]:
    """The group's ``RulesSource`` for ``domains``: sorted, exact names, never empty."""
    targets = sorted(set(domains)) or [PLACEHOLDER_TARGET]
    return {
        "RulesSourceList": {
            "Targets": targets,
            "TargetTypes": list(DOMAIN_TARGET_TYPES),
            "GeneratedRulesType": rules_type(monitor),
        }
    }


@dataclass
class NetworkFirewallDomains:
    """The stateful domain-list rule group: Describe, then Update with the token, the list replaced."""

    arn: str
    client_factory: Callable[[], Any] = field(repr=False, default=lambda: None)
    name: str = NETWORK_FIREWALL
    monitor: bool = False
    """Write an ALERTLIST (``enforcement: monitor``) instead of a DENYLIST."""
    rule_group_type: str = "STATEFUL"
    """STATEFUL on a Classic policy; FIREWALL on a Next Generation one, where the same DENYLIST domain list
    generates firewall-engine rules (botocore ``FirewallRulesSource.RulesSourceList``)."""
    _client: Any = field(default=None, repr=False)
    _capacity: int | None = field(default=None, repr=False)
    _seen: tuple[str, dict[str, Any]] | None = field(default=None, repr=False)
    """The token and group of the last read: ``apply`` writes over exactly what ``current`` saw."""

    @classmethod
    def from_settings(cls, settings: Settings, clients: Clients) -> "NetworkFirewallDomains":
        arn = settings.domain_rule_group_arn
        if not arn:
            raise ConfigurationError(
                "domain blocking through network-firewall needs the domain rule group's ARN "
                "(environment variable NFW_DOMAIN_RULE_GROUP_ARN)"
            )
        return cls(
            arn=arn,
            _client=clients.network_firewall,
            client_factory=_nfw_client(clients.region),
            monitor=settings.monitor,
            rule_group_type=settings.firewall_policy_type.domain_rule_group_type,
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def max_domains(self) -> int | None:
        if self._capacity is None:
            self._describe()
        return domains_that_fit(self._capacity or 0)

    def current(self) -> set[str]:
        """The domains the list holds in this mode: a list of the other mode's type (``enforcement`` was
        switched) holds none of them, so the writer rewrites it whole, as the new type, on its next sync."""
        _, group = self._describe()
        return self._held(group)

    def _held(self, group: dict[str, Any]) -> set[str]:
        source = _source_list(group)
        if source.get("GeneratedRulesType") != rules_type(self.monitor):
            return set()
        return set(source.get("Targets") or []) - {PLACEHOLDER_TARGET}

    def apply(self, add: Sequence[str], remove: Sequence[str]) -> None:
        token, group = self._seen or self._describe()
        self._seen = None  # a token serves one update: a second apply describes again
        targets = (self._held(group) | set(add)) - set(remove)
        updated = {**group, "RulesSource": domain_rules_source(sorted(targets), self.monitor)}
        try:
            self.client.update_rule_group(
                UpdateToken=token,
                RuleGroupArn=self.arn,
                Type=self.rule_group_type,
                **{CONTENT_MEMBER[self.rule_group_type]: updated},
            )
        except ClientError as e:
            raise self._translate(e) from e
        except BotoCoreError as e:
            raise Transient(type(e).__name__) from e

    def _describe(self) -> tuple[str, dict[str, Any]]:
        try:
            answer = self.client.describe_rule_group(RuleGroupArn=self.arn, Type=self.rule_group_type)
        except ClientError as e:
            raise self._translate(e) from e
        except BotoCoreError as e:
            raise Transient(type(e).__name__) from e
        self._capacity = int(answer["RuleGroupResponse"]["Capacity"])
        group: dict[str, Any] = answer.get(CONTENT_MEMBER[self.rule_group_type]) or {}
        source = _source_list(group)
        if source.get("GeneratedRulesType") not in OUR_RULES_TYPES:
            # Writing our domains into an allow list would let exactly them through and drop the rest.
            raise ConfigurationError(
                f"domain rule group {self.arn} is not a {' or '.join(OUR_RULES_TYPES)} domain list "
                f"(GeneratedRulesType {source.get('GeneratedRulesType')!r}): refusing to write it"
            )
        self._seen = (str(answer["UpdateToken"]), group)
        return self._seen

    def _translate(self, error: ClientError) -> Exception:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "InvalidTokenException":
            return StaleToken(message)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in TRANSIENT_CODES or status >= 500:
            return Transient(code or str(status))
        if code == "ResourceNotFoundException":
            return RuleGroupNotFound(f"domain rule group {self.arn} does not exist")
        if code in {"InvalidRequestException", "InvalidOperationException"}:
            return FirewallRejected(f"Network Firewall refused the domain list update: {message}")
        return FirewallUnavailable(f"Network Firewall error {code}: {message}")


def _source_list(group: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = (group.get("RulesSource") or {}).get("RulesSourceList") or {}
    return source


def _nfw_client(region: str | None) -> Callable[[], Any]:
    def create() -> Any:
        # The writer owns retries: botocore's own would hide token conflicts.
        return boto3.client(
            "network-firewall", region_name=region, config=Config(retries={"total_max_attempts": 1})
        )

    return create


# -- The registry ------------------------------------------------------------------------------------


PointFactory = Callable[[Settings, Clients], DomainEnforcementPoint]
POINT_FACTORIES: dict[str, PointFactory] = {
    NETWORK_FIREWALL: NetworkFirewallDomains.from_settings,
    DNS_FIREWALL: DnsFirewallDomains.from_settings,
}
"""One factory per point name: ``(settings, clients) -> point``."""


def domain_points(settings: Settings, clients: Clients) -> list[DomainEnforcementPoint]:
    """The enforcement points ``settings.domain_blocking`` switches on (none when it is ``off``)."""
    return [POINT_FACTORIES[name](settings, clients) for name in settings.domain_blocking.points]
