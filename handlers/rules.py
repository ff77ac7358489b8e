"""Pure rule-group arithmetic: rendering the owned rules, reading them back, capacity, eviction.

The solution owns exactly two stateless rules, at the source priority and at the destination
priority; every other rule in the group belongs to someone else and is kept as it is.
"""

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any, Final

from handlers.addresses import canonical_address

METRIC_ACTION_NAME: Final = "BlocklistMetric"
"""The custom action that publishes a CloudWatch metric for every dropped packet, as the reference does."""
METRIC_DIMENSION_VALUE: Final = "BlocklistDrop"
DROP_ACTIONS: Final = ("aws:drop", METRIC_ACTION_NAME)
MONITOR_ACTION_NAME: Final = "BlocklistWouldDrop"
"""Monitor mode's custom action: counts every packet the drop rules would have dropped."""
MONITOR_DIMENSION_VALUE: Final = "BlocklistWouldDrop"
MONITOR_ACTIONS: Final = ("aws:forward_to_sfe", MONITOR_ACTION_NAME)
"""Monitor mode (``enforcement: monitor``): count, then hand the packet to the stateful engine, exactly
where an unmatched packet goes under the usual ``StatelessDefaultActions`` (``aws:forward_to_sfe``).
``aws:pass`` would let a flagged host skip the user's own stateful rules: a trial run must never make a
host *less* inspected than it was (docs/DESIGN.md, "Monitor mode")."""
OUR_ACTIONS: Final = (DROP_ACTIONS, MONITOR_ACTIONS)
"""Every action list the solution renders: a rule with either is ours, whichever mode wrote it."""
HOST_COST: Final = 2
"""Capacity units one host costs: one entry in the source rule and one in the destination rule."""
MATCH_SETTINGS: Final = (
    "Sources",
    "Destinations",
    "SourcePorts",
    "DestinationPorts",
    "Protocols",
    "TCPFlags",
)
MAX_STATELESS_CAPACITY: Final = 30000

Rule = dict[str, Any]
"""A stateless rule as the Network Firewall API spells it (Priority, RuleDefinition)."""


def metric_custom_action(
    name: str = METRIC_ACTION_NAME, dimension: str = METRIC_DIMENSION_VALUE
) -> dict[str, Any]:
    return {
        "ActionName": name,
        "ActionDefinition": {"PublishMetricAction": {"Dimensions": [{"Value": dimension}]}},
    }


def our_custom_actions() -> list[dict[str, Any]]:
    """Both modes' metric actions: the group defines them whatever the mode, so a switch rewrites rules
    only (a custom action a rule names must be defined in the group)."""
    return [metric_custom_action(), metric_custom_action(MONITOR_ACTION_NAME, MONITOR_DIMENSION_VALUE)]


def rule_actions(monitor: bool) -> tuple[str, ...]:
    """What the owned rules do to a listed host: drop and count, or (monitor mode) count and forward."""
    return MONITOR_ACTIONS if monitor else DROP_ACTIONS


@functools.lru_cache(maxsize=1 << 16)
def host_sort_key(host: str) -> tuple[int, int, str]:
    """IPv4 hosts in address order, then IPv6, then domains (which never hold a '/') by name.

    Cached, as ``canonical_address`` is: every write sorts the whole group (up to 15,000 hosts), nearly
    all of them the hosts the last write sorted.
    """
    if "/" not in host and canonical_address(host) is None:
        return (7, 0, host)
    address = canonical_address(host) or ipaddress.ip_network(host).network_address
    return (address.version, int(address), "")


def sorted_hosts(hosts: Iterable[str], near: Iterable[str] = ()) -> list[str]:
    """``hosts``, each once, in ``host_sort_key`` order.

    ``near`` is a list in (or close to) that order, such as what the group holds now: the sort starts
    from its order, so a group of 15,000 hosts with one more is put in order in one pass rather than
    sorted from scratch. The result never depends on ``near``, only the work does.
    """
    wanted = set(hosts)
    start = dict.fromkeys(near)
    for gone in start.keys() - wanted:
        del start[gone]
    start.update(dict.fromkeys(wanted))
    return sorted(start, key=host_sort_key)


def render_owned_rules(
    hosts: Iterable[str], source_priority: int, destination_priority: int, monitor: bool = False
) -> list[Rule]:
    """The two drop rules for ``hosts`` (monitor mode: the two counting rules) — or none at all for an
    empty blocklist.

    A stateless rule with no Sources matches every source: rendering an empty list would
    drop all traffic through the firewall, so an empty blocklist has no owned rules.
    """
    ordered = sorted_hosts(hosts)
    if not ordered:
        return []
    addresses = [_address_entry(host) for host in ordered]
    actions = rule_actions(monitor)
    return [
        _owned_rule(source_priority, {"Sources": addresses}, actions),
        _owned_rule(destination_priority, {"Destinations": list(addresses)}, actions),
    ]


@functools.lru_cache(maxsize=1 << 16)
def _address_entry(host: str) -> dict[str, str]:
    # One shared entry per host: rendering 15,000 hosts then allocates two lists, not 30,000 dicts.
    # Rendered rules are only ever read (compared, serialised), never mutated.
    return {"AddressDefinition": host}


def _owned_rule(priority: int, match: dict[str, Any], actions: Sequence[str]) -> Rule:
    return {"Priority": priority, "RuleDefinition": {"MatchAttributes": match, "Actions": list(actions)}}


def split_owned(rules: Sequence[Rule], owned_priorities: Iterable[int]) -> tuple[list[Rule], list[Rule]]:
    """(rules at the priorities the solution owns, every other rule)."""
    owned_set = set(owned_priorities)
    owned = [rule for rule in rules if rule.get("Priority") in owned_set]
    foreign = [rule for rule in rules if rule.get("Priority") not in owned_set]
    return owned, foreign


def is_our_rendering(rule: Rule) -> bool:
    """Is this a rule the solution renders (its actions are exactly ours, in either mode), whatever its
    priority?"""
    actions = tuple(rule.get("RuleDefinition", {}).get("Actions", []))
    return actions in OUR_ACTIONS


def rendered_mode(owned: Sequence[Rule], default: bool) -> bool:
    """Whether the owned rules are monitor mode's rendering (True) or enforce mode's (False); ``default``
    when there are none or they are neither (a hand edit)."""
    modes = {tuple(rule.get("RuleDefinition", {}).get("Actions", [])) for rule in owned}
    if modes == {MONITOR_ACTIONS}:
        return True
    if modes == {DROP_ACTIONS}:
        return False
    return default


@dataclass(frozen=True)
class GroupRules:
    """A group's rules seen from the solution: the two it owns, older ones of its own, the rest."""

    owned: list[Rule]
    """Our rules at the configured priorities."""
    legacy: list[Rule]
    """Our rendering at other priorities (an earlier ``ruleGroupPriority``): migrated, then removed."""
    foreign: list[Rule]
    """Everybody else's rules, kept as they are."""
    collisions: list[Rule]
    """Foreign rules sitting at a configured priority: never overwritten, the writer refuses to run."""

    @property
    def legacy_hosts(self) -> set[str]:
        """Every address our older rules name, in either direction: they stay blocked once migrated."""
        hosts: set[str] = set()
        for rule in self.legacy:
            hosts |= addresses_of(rule, "Sources") | addresses_of(rule, "Destinations")
        return {host for host in hosts if host}


def partition_rules(rules: Sequence[Rule], source_priority: int, destination_priority: int) -> GroupRules:
    configured = {source_priority, destination_priority}
    owned: list[Rule] = []
    legacy: list[Rule] = []
    foreign: list[Rule] = []
    collisions: list[Rule] = []
    for rule in rules:
        ours = is_our_rendering(rule)
        if rule.get("Priority") in configured:
            (owned if ours else collisions).append(rule)
        else:
            (legacy if ours else foreign).append(rule)
    return GroupRules(owned, legacy, foreign, collisions)


def addresses_of(rule: Rule, setting: str) -> set[str]:
    match = rule.get("RuleDefinition", {}).get("MatchAttributes", {})
    return {entry.get("AddressDefinition", "") for entry in match.get(setting, [])}


def blocked_hosts(owned: Sequence[Rule], source_priority: int, destination_priority: int) -> set[str]:
    """Hosts the owned rules drop in both directions (a host in one rule only is not blocked)."""
    by_priority = {rule.get("Priority"): rule for rule in owned}
    source_rule = by_priority.get(source_priority)
    destination_rule = by_priority.get(destination_priority)
    if source_rule is None or destination_rule is None:
        return set()
    return addresses_of(source_rule, "Sources") & addresses_of(destination_rule, "Destinations")


def hand_edited(owned: Sequence[Rule], source_priority: int, destination_priority: int) -> bool:
    """Do the owned rules differ from what rendering the hosts they block would give, in either mode?

    Extra addresses in one direction, other actions or match settings, a changed order: anything but
    our own rendering counts, and the next full sync writes it back. The other mode's rendering is ours
    (a switch of ``enforcement`` rewrites it), not a hand edit.
    """
    current = blocked_hosts(owned, source_priority, destination_priority)
    return all(
        list(owned) != render_owned_rules(current, source_priority, destination_priority, monitor)
        for monitor in (False, True)
    )


def rule_capacity(rule: Rule) -> int:
    """Network Firewall's count: the product over the match settings of their sizes, empty counting 1."""
    match: Mapping[str, Any] = rule.get("RuleDefinition", {}).get("MatchAttributes", {})
    return prod(max(1, len(match.get(setting) or [])) for setting in MATCH_SETTINGS)


def rules_capacity(rules: Iterable[Rule]) -> int:
    return sum(rule_capacity(rule) for rule in rules)


def host_capacity(group_capacity: int, foreign: Sequence[Rule]) -> int:
    """How many hosts fit beside the rules the solution does not own."""
    return max(0, (group_capacity - rules_capacity(foreign)) // HOST_COST)


def compose(foreign: Sequence[Rule], owned: Sequence[Rule]) -> list[Rule]:
    return sorted([*foreign, *owned], key=lambda rule: int(rule.get("Priority", 0)))


def with_metric_action(custom_actions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The group's custom actions with ours (both modes') present exactly once, as defined here."""
    ours = our_custom_actions()
    names = {action["ActionName"] for action in ours}
    others = [action for action in custom_actions if action.get("ActionName") not in names]
    return [*others, *ours]


@dataclass(frozen=True)
class EvictionCandidate:
    host: str
    last_seen: float


def choose_evictions(candidates: Iterable[EvictionCandidate], count: int) -> list[str]:
    """The ``count`` hosts seen longest ago (ties broken by address, so the choice is deterministic)."""
    if count <= 0:
        return []
    ordered = sorted(candidates, key=lambda c: (c.last_seen, host_sort_key(c.host)))
    return [candidate.host for candidate in ordered[:count]]
