"""Rule-group validation and capacity, as Network Firewall applies them on create and update.

This is the emulator's independent statement of AWS's rules: it is the oracle the writer's own capacity
arithmetic (handlers/rules.py) is tested against, so it deliberately shares no code with it.

Stateless capacity is Network Firewall's documented formula: per rule, the product over its match
settings of the number of elements (an absent or empty setting counts 1), summed over the rules.
Stateful capacity is kept simple and is documented here rather than modelled exactly: one unit per rule
(per non-comment line of a Suricata `RulesString`, per entry of `StatefulRules`); a domain
`RulesSourceList` costs domains x target types + target types (see `stateful.py`).
"""

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .engine import FIREWALL, MAX_FIREWALL_CAPACITY, validate_firewall_rule_group
from .errors import InvalidRequestException
from .stateful import domain_list_capacity, rule_order, validate_rule_variables, validate_source_list

STATELESS = "STATELESS"
STATEFUL = "STATEFUL"
SUPPORTED_TYPES = (STATELESS, STATEFUL, FIREWALL)
MAX_CAPACITY = {STATELESS: 30_000, STATEFUL: 30_000, FIREWALL: MAX_FIREWALL_CAPACITY}
STANDARD_STATELESS_ACTIONS = frozenset({"aws:pass", "aws:drop", "aws:forward_to_sfe"})
MATCH_SETTINGS = ("Sources", "Destinations", "SourcePorts", "DestinationPorts", "Protocols", "TCPFlags")
MIN_PRIORITY, MAX_PRIORITY = 1, 65_535

_NAME = re.compile(r"^[a-zA-Z0-9-]{1,128}$")
_ACTION_NAME = re.compile(r"^[a-zA-Z0-9]{1,128}$")
_DIMENSION_VALUE = re.compile(r"^[a-zA-Z0-9-_ ]{1,128}$")


def validate_name(name: object) -> str:
    """Names become part of the ARN, so AWS restricts them to letters, digits and hyphens."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidRequestException(
            f"RuleGroupName {name!r} is invalid: use 1-128 letters, digits and hyphens"
        )
    return name


def validate_type(rule_group_type: object) -> str:
    """The two Classic types and the Next Generation firewall engine's FIREWALL (``engine.py``); IPS and
    STATEFUL_DOMAIN are out of scope."""
    if rule_group_type not in SUPPORTED_TYPES:
        raise InvalidRequestException(
            f"Type {rule_group_type!r} is not supported; use one of {', '.join(SUPPORTED_TYPES)}"
        )
    return str(rule_group_type)


def validate_capacity(rule_group_type: str, capacity: object) -> int:
    """Capacity is fixed at creation, so a bad value must be refused then, not discovered later."""
    maximum = MAX_CAPACITY[rule_group_type]
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= maximum:
        raise InvalidRequestException(
            f"Capacity {capacity!r} is invalid for a {rule_group_type} rule group: it must be 1-{maximum}"
        )
    return capacity


def stateless_rule_capacity(match_attributes: Mapping[str, Any]) -> int:
    """Product over the match settings of their element counts; empty or absent means 'any' and counts 1."""
    units = 1
    for setting in MATCH_SETTINGS:
        units *= max(len(match_attributes.get(setting) or ()), 1)
    return units


def consumed_capacity(rule_group_type: str, rule_group: Mapping[str, Any]) -> int:
    """Capacity a (valid) rule group consumes; see the module docstring for the stateful simplification."""
    source = rule_group.get("RulesSource") or {}
    if rule_group_type == STATELESS:
        rules = (source.get("StatelessRulesAndCustomActions") or {}).get("StatelessRules") or []
        return sum(
            stateless_rule_capacity((rule.get("RuleDefinition") or {}).get("MatchAttributes") or {})
            for rule in rules
        )
    if "RulesString" in source:
        return len(_suricata_rules(source["RulesString"]))
    if "StatefulRules" in source:
        return len(source["StatefulRules"] or [])
    return domain_list_capacity(source.get("RulesSourceList") or {})


def validate_rule_group(rule_group_type: str, rule_group: object, capacity: int) -> int:
    """Refuse what Network Firewall refuses and return the consumed capacity of what it accepts."""
    if rule_group_type == FIREWALL:
        return validate_firewall_rule_group(rule_group, capacity)
    if not isinstance(rule_group, Mapping):
        raise InvalidRequestException("RuleGroup must be an object")
    source = rule_group.get("RulesSource")
    if not isinstance(source, Mapping):
        raise InvalidRequestException("RuleGroup.RulesSource is required")
    if rule_group_type == STATELESS:
        _validate_stateless_source(source)
        if rule_group.get("StatefulRuleOptions") is not None:
            raise InvalidRequestException("StatefulRuleOptions applies only to a STATEFUL rule group")
    else:
        _validate_stateful_source(source)
        validate_rule_variables(rule_group.get("RuleVariables"))
        rule_order(rule_group.get("StatefulRuleOptions"))
    consumed = consumed_capacity(rule_group_type, rule_group)
    if consumed > capacity:
        raise InvalidRequestException(
            f"The rule group consumes {consumed} capacity units, "
            f"which exceeds its capacity of {capacity} (consumed {consumed} > capacity {capacity})"
        )
    return consumed


def _validate_stateless_source(source: Mapping[str, Any]) -> None:
    present = sorted(key for key in source if source.get(key) is not None)
    if present != ["StatelessRulesAndCustomActions"]:
        raise InvalidRequestException(
            "A STATELESS rule group's RulesSource must hold exactly StatelessRulesAndCustomActions"
        )
    body = source["StatelessRulesAndCustomActions"]
    custom_actions = _validate_custom_actions(body.get("CustomActions") or [])
    priorities: set[int] = set()
    for index, rule in enumerate(body.get("StatelessRules") or []):
        where = f"StatelessRules[{index}]"
        priority = rule.get("Priority")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InvalidRequestException(f"{where}.Priority is required")
        if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise InvalidRequestException(
                f"{where}.Priority {priority} is out of range {MIN_PRIORITY}-{MAX_PRIORITY}"
            )
        if priority in priorities:
            raise InvalidRequestException(
                f"{where}.Priority {priority} is not unique: priorities must be unique within a rule group"
            )
        priorities.add(priority)
        definition = rule.get("RuleDefinition") or {}
        _validate_actions(where, definition.get("Actions") or [], custom_actions)
        _validate_match_attributes(where, definition.get("MatchAttributes") or {})


def _validate_custom_actions(custom_actions: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    names: set[str] = set()
    for action in custom_actions:
        name = action.get("ActionName")
        if not isinstance(name, str) or not _ACTION_NAME.match(name):
            raise InvalidRequestException(
                f"CustomActions: ActionName {name!r} must be 1-128 letters or digits"
            )
        if name in names:
            raise InvalidRequestException(f"CustomActions: ActionName {name!r} is defined twice")
        publish = (action.get("ActionDefinition") or {}).get("PublishMetricAction")
        if not publish:
            raise InvalidRequestException(f"CustomActions: {name!r} needs an ActionDefinition")
        # The API model: exactly one dimension, its value 1-128 of letters, digits, '-', '_' and spaces
        # (so no address: a host's dots and colons are refused; one metric per host is not possible).
        dimensions = publish.get("Dimensions") or []
        if len(dimensions) != 1:
            raise InvalidRequestException(
                f"CustomActions: {name!r} PublishMetricAction needs exactly one dimension, "
                f"got {len(dimensions)}"
            )
        value = (dimensions[0] or {}).get("Value")
        if not isinstance(value, str) or not _DIMENSION_VALUE.match(value):
            raise InvalidRequestException(
                f"CustomActions: {name!r} dimension value {value!r} must be 1-128 letters, digits, "
                "'-', '_' or spaces"
            )
        names.add(name)
    return frozenset(names)


def _validate_actions(where: str, actions: Sequence[str], custom_actions: frozenset[str]) -> None:
    for action in actions:
        if action not in STANDARD_STATELESS_ACTIONS and action not in custom_actions:
            raise InvalidRequestException(
                f"{where}: action {action!r} is neither a standard action "
                f"({', '.join(sorted(STANDARD_STATELESS_ACTIONS))}) nor a custom action defined in the group"
            )
    standard = [action for action in actions if action in STANDARD_STATELESS_ACTIONS]
    if len(standard) != 1:
        raise InvalidRequestException(
            f"{where}: a stateless rule needs exactly one standard action, got {standard or 'none'}"
        )


def _validate_match_attributes(where: str, attributes: Mapping[str, Any]) -> None:
    for setting in ("Sources", "Destinations"):
        for address in attributes.get(setting) or []:
            _validate_cidr(f"{where}.{setting}", (address or {}).get("AddressDefinition"))
    for setting in ("SourcePorts", "DestinationPorts"):
        for port_range in attributes.get(setting) or []:
            low, high = port_range.get("FromPort"), port_range.get("ToPort")
            if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 65_535):
                raise InvalidRequestException(f"{where}.{setting}: invalid port range {low!r}-{high!r}")
    for protocol in attributes.get("Protocols") or []:
        if isinstance(protocol, bool) or not isinstance(protocol, int) or not 0 <= protocol <= 255:
            raise InvalidRequestException(f"{where}.Protocols: {protocol!r} is not an IP protocol number")


def _validate_cidr(where: str, definition: object) -> None:
    """Strict parsing: AWS refuses host bits set past the prefix (10.0.0.1/8), so must we."""
    try:
        ipaddress.ip_network(str(definition), strict=True)
    except ValueError as error:
        raise InvalidRequestException(
            f"{where}: AddressDefinition {definition!r} is not a valid IPv4 or IPv6 CIDR block"
        ) from error
    if not isinstance(definition, str) or "/" not in definition:
        raise InvalidRequestException(f"{where}: AddressDefinition {definition!r} must be in CIDR notation")


def _validate_stateful_source(source: Mapping[str, Any]) -> None:
    present = [key for key in ("RulesString", "StatefulRules", "RulesSourceList") if source.get(key)]
    if len(present) != 1 or source.get("StatelessRulesAndCustomActions") is not None:
        raise InvalidRequestException(
            "A STATEFUL rule group's RulesSource must hold exactly one of "
            "RulesString, StatefulRules or RulesSourceList"
        )
    if "RulesSourceList" in present:
        validate_source_list(source["RulesSourceList"])


def _suricata_rules(rules_string: str) -> list[str]:
    return [line for line in rules_string.splitlines() if line.strip() and not line.lstrip().startswith("#")]
