"""The Next Generation target for IP hosts: a FIREWALL rule group's two drop rules over one IP-set variable.

A Next Generation policy has no stateless engine (docs/DESIGN.md, "Next Generation target"). The tool owns
in its FIREWALL rule group (``firewallPolicyType: next-generation``):

- the rule variable ``RuleVariables.IPSets.NFW_BLOCKLIST``: every blocked host's CIDR, sorted; and
- two modeled rules, first in the group, ``DROP`` / ``PACKET`` at hook ``IP_PRE_FLOW`` (protocol ``IP``),
  one with ``SourceIPs: $NFW_BLOCKLIST`` and one with ``DestIPs: $NFW_BLOCKLIST``: both directions.

Why this shape: a rule's SourceIPs is one string of at most 1,024 characters (botocore model), so a
list of hosts cannot live in the rules; the guide says to use rule variables for ranges, and FIREWALL
groups take no reference sets. One variable makes a block or an unblock one change of one list, the
rules never change. ``IP_PRE_FLOW`` is the packet-layer hook evaluated on every packet before the flow
is looked up (Suricata's ``packet:pre_flow``), and ``drop:packet`` is the only scope the emulator's
conservative reading allows there; ``drop:flow`` at a flow hook would act only on new flows.

The variable is never empty: with no host blocked it holds ``PLACEHOLDER_CIDR``, from the IPv6
discard-only prefix ``100::/64`` (RFC 6666): traffic to it is meant to be dropped, so the rules then block
nothing real. (Whether AWS accepts an empty IP set or a group without rules is not documented.)

Capacity: AWS does not document what a CIDR costs in a firewall rule or variable; the conservative
reading counts each rule as (source CIDRs) x (destination CIDRs) once variables are expanded, so a host
costs 2 units (its CIDR in both rules), as in the Classic stateless group (docs/LIMITS.md).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from handlers import schema
from handlers.domains import is_domain
from handlers.errors import ConfigurationError
from handlers.firewall import RuleGroupClient, RuleGroupSnapshot
from handlers.flush import FlowFlusher, FlushReport
from handlers.rules import HOST_COST, host_sort_key, sorted_hosts
from handlers.writer import Rendering, TargetView

VARIABLE: Final = "NFW_BLOCKLIST"
"""The IP-set variable the tool owns in the group (1-32 characters, a letter then letters, digits, _)."""
REFERENCE: Final = f"${VARIABLE}"
PLACEHOLDER_CIDR: Final = "100::/128"
"""What the variable holds while no host is blocked: inside RFC 6666's discard-only prefix."""
DROP_RULE_FIELDS: Final = {"Action": "DROP", "ActionScope": "PACKET", "Hook": "IP_PRE_FLOW", "Protocol": "IP"}

FirewallRule = dict[str, Any]
_VARIABLE_REFERENCE = re.compile(r"^\$([A-Za-z][A-Za-z0-9_]*)$")


def owned_rules() -> list[FirewallRule]:
    """The two drop rules: from a blocked host, and to it."""
    return [{**DROP_RULE_FIELDS, "SourceIPs": REFERENCE}, {**DROP_RULE_FIELDS, "DestIPs": REFERENCE}]


def render_variable(hosts: Iterable[str], near: Iterable[str] = ()) -> dict[str, list[str]]:
    """The variable holding ``hosts`` in address order; ``near``: what it holds now (``sorted_hosts``)."""
    return {"Definition": sorted_hosts(hosts, near) or [PLACEHOLDER_CIDR]}


def references_ours(rule: Mapping[str, Any]) -> bool:
    return REFERENCE in (rule.get("SourceIPs"), rule.get("DestIPs"))


@dataclass(frozen=True)
class EngineGroup:
    """A FIREWALL group's content seen from the tool."""

    ours: list[FirewallRule]
    """Our rules, wherever they are in the group."""
    foreign: list[FirewallRule]
    """Everybody else's modeled rules, kept as they are, in their order."""
    variable: list[str]
    """Our variable's definition as the group holds it (empty: absent)."""
    other_variables: dict[str, Any]
    """The group's other rule variables (IP sets, port sets...), kept as they are."""

    @property
    def blocked(self) -> set[str]:
        """The hosts dropped in both directions: the variable's CIDRs, only while both rules are there."""
        if not all(rule in self.ours for rule in owned_rules()):
            return set()
        return set(self.variable) - {PLACEHOLDER_CIDR}


def read_group(rule_group: Mapping[str, Any]) -> EngineGroup:
    source = rule_group.get("RulesSource") or {}
    if source.get("RulesString") or source.get("RulesSourceList"):
        raise ConfigurationError(
            "the Next Generation IP rule group holds a rule string or a domain list: the tool writes "
            "modeled FirewallRules and shares the group only with modeled rules"
        )
    rules = list(source.get("FirewallRules") or [])
    mine = owned_rules()
    ours = [rule for rule in rules if rule in mine]
    foreign = [rule for rule in rules if rule not in mine]
    hijacked = [rule for rule in foreign if references_ours(rule)]
    if hijacked:
        raise ConfigurationError(
            f"a rule the tool does not own references its variable {REFERENCE} "
            f"({_describe(hijacked[0])}): writing the blocklist would change that rule; refusing"
        )
    variables = dict(rule_group.get("RuleVariables") or {})
    ip_sets = dict(variables.get("IPSets") or {})
    definition = list((ip_sets.pop(VARIABLE, None) or {}).get("Definition") or [])
    return EngineGroup(ours, foreign, definition, {**variables, "IPSets": ip_sets})


def render_group(rule_group: Mapping[str, Any], group: EngineGroup, hosts: Iterable[str]) -> dict[str, Any]:
    """The group with our rules first (the engine evaluates a hook's rules in order, so another rule's
    accept never comes before our drop) and our variable holding ``hosts``; the rest as it was."""
    variables = {**group.other_variables, "IPSets": {**group.other_variables.get("IPSets", {})}}
    variables["IPSets"][VARIABLE] = render_variable(hosts, near=group.variable)
    return {
        **rule_group,
        "RulesSource": {"FirewallRules": [*owned_rules(), *group.foreign]},
        "RuleVariables": variables,
    }


def initial_rule_group() -> dict[str, Any]:
    """What the tool's FIREWALL group is created with: its two rules over the placeholder (Pulumi's
    provider, the sandbox and the tests create it from this one function)."""
    return render_group({}, EngineGroup([], [], [], {}), [])


def rule_capacity(rule: Mapping[str, Any], ip_sets: Mapping[str, Any]) -> int:
    """The conservative count: source CIDRs x destination CIDRs, variables expanded (docs/LIMITS.md)."""
    return _addresses(rule.get("SourceIPs"), ip_sets) * _addresses(rule.get("DestIPs"), ip_sets)


def _addresses(value: object, ip_sets: Mapping[str, Any]) -> int:
    match = _VARIABLE_REFERENCE.match(str(value or ""))
    if match:
        return max(1, len((ip_sets.get(match.group(1)) or {}).get("Definition") or []))
    return 1


def group_capacity_used(rule_group: Mapping[str, Any]) -> int:
    ip_sets = (rule_group.get("RuleVariables") or {}).get("IPSets") or {}
    rules = (rule_group.get("RulesSource") or {}).get("FirewallRules") or []
    return sum(rule_capacity(rule, ip_sets) for rule in rules)


def hosts_that_fit(capacity: int, group: EngineGroup) -> int:
    ip_sets = group.other_variables.get("IPSets") or {}
    foreign = sum(rule_capacity(rule, ip_sets) for rule in group.foreign)
    return max(0, (capacity - foreign) // HOST_COST)


def _describe(rule: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {rule[key]}" for key in ("Action", "ActionScope", "Hook") if key in rule)


@dataclass
class FirewallEngineRules:
    """The IP hosts' target on a Next Generation firewall: the FIREWALL group behind ``firewall``."""

    firewall: RuleGroupClient
    flusher: FlowFlusher | None = None
    """Flushes the flows of the hosts a write adds (``handlers.flush``); None: no firewall named."""
    lease_key: str = schema.LEASE_KEY
    flushed: FlushReport = field(default_factory=FlushReport)
    """What this target's flushes did since ``take_flushed`` last emptied it."""

    place = "firewall rule group"

    def owns(self, host: str) -> bool:
        return not is_domain(host)

    def read(self, known: Any) -> TargetView:
        snapshot: RuleGroupSnapshot = known or self.firewall.describe()
        group = read_group(snapshot.rule_group)
        return TargetView(snapshot, group.blocked, hosts_that_fit(snapshot.capacity, group), group)

    def render(self, view: TargetView, desired: set[str], full: bool) -> Rendering:
        snapshot: RuleGroupSnapshot = view.snapshot
        group: EngineGroup = view.detail
        rendered = render_group(snapshot.rule_group, group, desired)
        needs_write = rendered != snapshot.rule_group
        # On full syncs: did anything but the hosts differ from our rendering (rules edited, moved or
        # removed, the variable reordered or holding a protected or foreign entry)?
        repaired = (
            full
            and needs_write
            and render_group(snapshot.rule_group, group, group.blocked) != (snapshot.rule_group)
        )
        return Rendering(needs_write, repaired, (rendered, desired))

    def write(self, view: TargetView, rendering: Rendering) -> RuleGroupSnapshot:
        snapshot: RuleGroupSnapshot = view.snapshot
        rendered, desired = rendering.payload
        token = self.firewall.write(snapshot, rendered)
        if self.flusher is not None:
            # After the update: a flushed flow's next packet meets the new rules.
            added = sorted(desired - view.current, key=host_sort_key)
            self.flushed = self.flushed.merged(self.flusher.flush(added))
        return RuleGroupSnapshot(snapshot.arn, token, snapshot.capacity, rendered)

    def take_flushed(self) -> FlushReport:
        """The flushes since the last call (one sync's, when called after each)."""
        report, self.flushed = self.flushed, FlushReport()
        return report

    def capacity_used(self, snapshot: RuleGroupSnapshot) -> int:
        return group_capacity_used(snapshot.rule_group)

    def edited(self, view: TargetView) -> bool:
        """Does the group differ from what rendering the hosts it blocks would give (status's drift)?"""
        snapshot: RuleGroupSnapshot = view.snapshot
        return render_group(snapshot.rule_group, view.detail, view.current) != snapshot.rule_group
