"""The stateless engine, as the Network Firewall developer guide describes it ("Stateless rule groups",
"Stateless rule actions", "Defining custom actions for stateless rules"; API: MatchAttributes, TCPFlagField).

- A policy's stateless rule groups run in ascending reference Priority, each group's rules in ascending
  rule Priority; the first rule that matches the packet decides. No rule matches: the policy's
  ``StatelessDefaultActions`` decide.
- A rule matches when every match setting it holds matches; an absent or empty setting matches anything.
  ``Sources``/``Destinations``: any CIDR holds the address. ``SourcePorts``/``DestinationPorts``: any range
  holds the port; they apply to TCP (6) and UDP (17) only, so a rule with ports never matches another
  protocol. ``Protocols``: the IP protocol number is listed. ``TCPFlags``: some entry's flags, read
  through its masks (absent masks: all eight flags), are exactly the ones set; only TCP packets match.
- Actions: exactly one standard action (``aws:pass``, ``aws:drop``, ``aws:forward_to_sfe``) and any custom
  actions of the group (or, for the default actions, of the policy); a ``PublishMetricAction`` custom
  action publishes one ``Packets`` datum per packet with dimension ``CustomAction`` = each of its
  dimension values, whatever the standard action.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .packets import TCP, TCP_FLAGS, UDP, Packet, in_cidr

STANDARD_ACTIONS: Final = frozenset({"aws:pass", "aws:drop", "aws:forward_to_sfe"})


@dataclass(frozen=True)
class StatelessVerdict:
    """What the stateless engine did with one packet."""

    action: str
    """``aws:pass``, ``aws:drop`` or ``aws:forward_to_sfe``."""
    rule: tuple[int, int] | None
    """(group reference priority, rule priority) of the rule that matched; None: the default actions."""
    metric_dimensions: tuple[str, ...]
    """``CustomAction`` dimension values a PublishMetricAction published a packet under."""


class RuleError(ValueError):
    """A rule group the engine cannot read (a shape the API would never return)."""


def _custom_actions(definitions: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Custom action name -> the dimension values its PublishMetricAction publishes."""
    actions: dict[str, tuple[str, ...]] = {}
    for definition in definitions:
        publish = (definition.get("ActionDefinition") or {}).get("PublishMetricAction") or {}
        actions[str(definition["ActionName"])] = tuple(
            str(dimension["Value"]) for dimension in publish.get("Dimensions") or []
        )
    return actions


def _apply(
    actions: Sequence[str], custom: Mapping[str, tuple[str, ...]], where: str
) -> tuple[str, tuple[str, ...]]:
    standard = [action for action in actions if action in STANDARD_ACTIONS]
    if len(standard) != 1:
        raise RuleError(f"{where}: needs exactly one standard action, has {standard or 'none'}")
    dimensions: list[str] = []
    for action in actions:
        if action in STANDARD_ACTIONS:
            continue
        if action not in custom:
            raise RuleError(f"{where}: custom action {action!r} is not defined")
        dimensions.extend(custom[action])
    return standard[0], tuple(dimensions)


def _ports_match(ranges: Sequence[Mapping[str, Any]], port: int, packet: Packet) -> bool:
    if not ranges:
        return True
    if packet.protocol not in (TCP, UDP):
        return False
    return any(int(r["FromPort"]) <= port <= int(r["ToPort"]) for r in ranges)


def _flags_match(entries: Sequence[Mapping[str, Any]], packet: Packet) -> bool:
    if not entries:
        return True
    if packet.protocol != TCP:
        return False
    for entry in entries:
        masks = frozenset(entry.get("Masks") or TCP_FLAGS)
        if frozenset(entry.get("Flags") or ()) == packet.tcp_flags & masks:
            return True
    return False


def matches(attributes: Mapping[str, Any], packet: Packet) -> bool:
    """Whether a rule's MatchAttributes match ``packet`` (module docstring)."""
    sources = attributes.get("Sources") or []
    destinations = attributes.get("Destinations") or []
    if sources and not any(in_cidr(packet.source, s["AddressDefinition"]) for s in sources):
        return False
    if destinations and not any(in_cidr(packet.destination, d["AddressDefinition"]) for d in destinations):
        return False
    protocols = attributes.get("Protocols") or []
    if protocols and packet.protocol not in protocols:
        return False
    return (
        _ports_match(attributes.get("SourcePorts") or [], packet.source_port, packet)
        and _ports_match(attributes.get("DestinationPorts") or [], packet.destination_port, packet)
        and _flags_match(attributes.get("TCPFlags") or [], packet)
    )


@dataclass(frozen=True)
class StatelessPolicy:
    """A policy's stateless part: its groups (reference priority, RuleGroup as DescribeRuleGroup returns
    it), its default actions and its own custom actions."""

    groups: Sequence[tuple[int, Mapping[str, Any]]]
    default_actions: Sequence[str] = ("aws:forward_to_sfe",)
    custom_actions: Sequence[Mapping[str, Any]] = ()

    def judge(self, packet: Packet) -> StatelessVerdict:
        for group_priority, rule_group in sorted(self.groups, key=lambda pair: pair[0]):
            body = (rule_group.get("RulesSource") or {}).get("StatelessRulesAndCustomActions")
            if body is None:
                raise RuleError(
                    f"stateless group at priority {group_priority} has no StatelessRulesAndCustomActions"
                )
            custom = _custom_actions(body.get("CustomActions") or [])
            for rule in sorted(body.get("StatelessRules") or [], key=lambda r: int(r["Priority"])):
                definition = rule["RuleDefinition"]
                if matches(definition.get("MatchAttributes") or {}, packet):
                    where = f"group {group_priority} rule {rule['Priority']}"
                    action, dimensions = _apply(definition.get("Actions") or [], custom, where)
                    return StatelessVerdict(action, (group_priority, int(rule["Priority"])), dimensions)
        action, dimensions = _apply(
            self.default_actions, _custom_actions(self.custom_actions), "StatelessDefaultActions"
        )
        return StatelessVerdict(action, None, dimensions)
