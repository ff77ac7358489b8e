"""Route 53 Resolver DNS Firewall on one query (developer guide, "Route 53 Resolver DNS Firewall rule
groups and rules", "DNS Firewall rule settings", "Domain lists"; API: FirewallRule, UpdateFirewallDomains).

- The rule groups associated with the query's VPC run in ascending association Priority, each group's
  rules in ascending rule Priority; the first rule whose domain list holds the query name decides.
  No rule matches: the query resolves.
- A domain list entry is a name (matches that name only) or ``*.`` and a name (matches the name's
  subdomains, not the name itself); matching ignores case and a trailing dot.
- Every action stops the inspection ("Rule actions in DNS Firewall"): ``ALLOW`` resolves the query;
  ``ALERT`` resolves it and logs an alert; ``BLOCK`` answers ``NODATA`` (NOERROR, no answer),
  ``NXDOMAIN``, or ``OVERRIDE`` (a CNAME to ``BlockOverrideDomain`` with ``BlockOverrideTtl``).
- A rule with a ``Qtype`` matches only queries of that type.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DnsRule:
    """One rule, as ListFirewallRules returns it, with the domains of its list (ListFirewallDomains)."""

    priority: int
    action: str
    domains: frozenset[str]
    block_response: str | None = None
    override_domain: str | None = None
    override_ttl: int | None = None
    qtype: str | None = None

    @classmethod
    def from_api(cls, rule: Mapping[str, Any], domains: Sequence[str]) -> "DnsRule":
        return cls(
            priority=int(rule["Priority"]),
            action=str(rule["Action"]),
            domains=frozenset(_normal(domain) for domain in domains),
            block_response=rule.get("BlockResponse"),
            override_domain=rule.get("BlockOverrideDomain"),
            override_ttl=rule.get("BlockOverrideTtl"),
            qtype=rule.get("Qtype"),
        )

    def holds(self, name: str, qtype: str) -> bool:
        if self.qtype is not None and self.qtype.upper() != qtype.upper():
            return False
        labels = name.split(".")
        return name in self.domains or any(
            "*." + ".".join(labels[index:]) in self.domains for index in range(1, len(labels))
        )


@dataclass(frozen=True)
class DnsAnswer:
    """What the resolver answers: ``resolved`` (the real answer), ``NODATA``, ``NXDOMAIN`` or ``OVERRIDE``."""

    response: str
    rule: int | None
    """The deciding rule's priority; None when no rule matched."""
    alerted: bool = False
    cname: str | None = None
    ttl: int | None = None

    @property
    def blocked(self) -> bool:
        return self.response != "resolved"


def _normal(name: str) -> str:
    return name.strip().rstrip(".").lower()


def resolve(groups: Sequence[tuple[int, Sequence[DnsRule]]], name: str, qtype: str = "A") -> DnsAnswer:
    """Judge a query for ``name`` against the VPC's (association priority, rules) groups."""
    query = _normal(name)
    for _, rules in sorted(groups, key=lambda pair: pair[0]):
        for rule in sorted(rules, key=lambda r: r.priority):
            if not rule.holds(query, qtype):
                continue
            if rule.action in ("ALERT", "ALLOW"):
                return DnsAnswer("resolved", rule.priority, alerted=rule.action == "ALERT")
            if rule.action != "BLOCK":
                raise ValueError(
                    f"DNS Firewall rule {rule.priority}: action {rule.action!r} is not ALLOW, ALERT or BLOCK"
                )
            if rule.block_response == "OVERRIDE":
                return DnsAnswer("OVERRIDE", rule.priority, cname=rule.override_domain, ttl=rule.override_ttl)
            if rule.block_response not in ("NODATA", "NXDOMAIN"):
                raise ValueError(f"DNS Firewall rule {rule.priority}: BlockResponse {rule.block_response!r}")
            return DnsAnswer(str(rule.block_response), rule.priority)
    return DnsAnswer("resolved", None)
