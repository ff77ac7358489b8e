"""Firewall-engine (``FIREWALL``) rule groups of Next Generation policies: what Network Firewall refuses
in a ``FirewallRuleGroup``, and the capacity one consumes.

Like ``rules.py`` an independent statement of AWS's rules (it shares no code with the handlers). Sources,
cited in docs/LIMITS.md ("Next Generation policies"):
- the botocore model (boto3 1.44): ``FirewallRuleGroup.RulesSource`` holds exactly one of
  ``FirewallRules``, ``RulesString`` or ``RulesSourceList``; a ``FirewallRule`` needs Action
  (ACCEPT|DROP|REJECT|REJECT_DST|REJECT_BOTH), ActionScope (FLOW|TX|HOOK|PACKET), Hook and Protocol;
  SourceIPs/DestIPs/SourcePorts/DestPorts are strings of 1-1024 characters; "the protocol is derived from
  the hook and must match the hook's protocol prefix. Network Firewall rejects a rule whose protocol
  doesn't match its hook"; "ACCEPT supports all four scopes, and DROP, REJECT, REJECT_DST, and
  REJECT_BOTH support only PACKET and FLOW"; "Firewall engine rule groups don't support IP set
  references (reference sets) ... use rule variables instead".
- Developer guide, "Actions and scopes": "the hook further restricts which of those scopes are valid".
  The table of those restrictions is not in the pages we could read, so the emulator takes the
  conservative reading (unverified): a ``*_PRE_FLOW`` hook runs before a flow exists (Suricata's
  ``packet:pre_flow`` table, "evaluated before flow is created/updated"), so only PACKET scope is accepted
  there, and TX (a transaction) only at application-layer hooks.
- Developer guide, "Setting rule group capacity": the firewall engine holds 30,000 rules per policy. What
  one CIDR costs in a rule or a variable is not documented: the emulator counts a modeled rule as the
  product of its source and destination address counts once variables are expanded (each at least 1),
  the stateless formula, which is the most a rule could cost if the engine expands address lists into
  rules; a ``RulesString`` line costs 1 (plus its expansion the same way is not attempted), a domain
  list domains x target types + target types, as for a Classic domain list.
- Variables: a rule's SourceIPs/DestIPs is ``any``, one CIDR, or ``$NAME`` naming an IP set of the
  group's ``RuleVariables`` (an unknown variable is refused); an address list in brackets is refused
  (conservative: the model documents "CIDR notation" and the guide says to use rule variables for ranges).
"""

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidRequestException
from .stateful import domain_list_capacity, validate_rule_variables, validate_source_list

FIREWALL = "FIREWALL"
MAX_FIREWALL_CAPACITY = 30_000
ACTIONS = frozenset({"ACCEPT", "DROP", "REJECT", "REJECT_DST", "REJECT_BOTH"})
SCOPES = frozenset({"FLOW", "TX", "HOOK", "PACKET"})
BLOCKING_SCOPES = frozenset({"PACKET", "FLOW"})
"""What DROP and the REJECT actions support (the botocore model's ActionScope documentation)."""
PACKET_LAYER_STATES = ("_ALL", "_FLOW_START", "_PRE_FLOW", "_PRE_STREAM")
PACKET_LAYER_PROTOCOLS = ("IP", "IPV4", "IPV6", "TCP", "UDP", "SCTP", "ICMP", "ICMPV4", "ICMPV6")
HOOK_PROTOCOL_ALIASES = {"HTTP1": "HTTP", "IKE": "IKEV2"}
"""Hook prefixes whose protocol is spelled differently in FirewallRuleProtocol."""
MAX_ADDRESS_CHARS = 1024
_VARIABLE = re.compile(r"^\$([A-Za-z][A-Za-z0-9_]{0,31})$")
_PORT = re.compile(r"^(any|\d{1,5}(:\d{1,5})?|\$[A-Za-z][A-Za-z0-9_]{0,31})$")


def hook_protocol(hook: str) -> str:
    """The protocol a hook belongs to: its prefix before the state (``TLS_CLIENT_HELLO`` -> ``TLS``)."""
    for protocol in PACKET_LAYER_PROTOCOLS:
        if any(hook == protocol + state for state in PACKET_LAYER_STATES):
            return protocol
    for prefix in ("FTP_DATA", "BITTORRENT_DHT", "HTTP2", "DOH2", "HTTP1"):
        if hook.startswith(prefix + "_"):
            return HOOK_PROTOCOL_ALIASES.get(prefix, prefix)
    prefix = hook.split("_", 1)[0]
    return HOOK_PROTOCOL_ALIASES.get(prefix, prefix)


def is_packet_layer(hook: str) -> bool:
    return hook.split("_", 1)[0] in PACKET_LAYER_PROTOCOLS and hook_protocol(hook) in PACKET_LAYER_PROTOCOLS


def validate_firewall_rule_group(rule_group: object, capacity: int) -> int:
    """Refuse what Network Firewall refuses in a FirewallRuleGroup; the consumed capacity otherwise."""
    if not isinstance(rule_group, Mapping):
        raise InvalidRequestException("FirewallRuleGroup must be an object")
    for key in ("StatefulRuleOptions", "ReferenceSets"):
        if rule_group.get(key):
            raise InvalidRequestException(
                f"FirewallRuleGroup.{key} is not supported in a FIREWALL rule group"
                + (": use RuleVariables instead" if key == "ReferenceSets" else "")
            )
    unknown = set(rule_group) - {"RulesSource", "RuleVariables", "StatefulRuleOptions", "ReferenceSets"}
    if unknown:
        raise InvalidRequestException(f"FirewallRuleGroup: unknown member(s) {sorted(unknown)}")
    source = rule_group.get("RulesSource")
    if not isinstance(source, Mapping):
        raise InvalidRequestException("FirewallRuleGroup.RulesSource is required")
    present = [key for key in ("FirewallRules", "RulesString", "RulesSourceList") if source.get(key)]
    if len(present) != 1 or set(source) - {"FirewallRules", "RulesString", "RulesSourceList"}:
        raise InvalidRequestException(
            "A FIREWALL rule group's RulesSource must hold exactly one of FirewallRules, RulesString or "
            "RulesSourceList (a rule group with no rule is refused)"
        )
    variables = rule_group.get("RuleVariables")
    validate_rule_variables(variables)
    ip_sets: Mapping[str, Any] = (
        (variables or {}).get("IPSets") or {} if isinstance(variables, Mapping) else {}
    )
    if "RulesSourceList" in present:
        validate_source_list(source["RulesSourceList"])
        consumed = domain_list_capacity(source["RulesSourceList"])
    elif "RulesString" in present:
        consumed = _rules_string_capacity(source["RulesString"])
    else:
        rules = source["FirewallRules"]
        if not isinstance(rules, list):
            raise InvalidRequestException("FirewallRules must be a list")
        consumed = sum(_validated_rule(index, rule, ip_sets) for index, rule in enumerate(rules))
    if consumed > capacity:
        raise InvalidRequestException(
            f"The rule group consumes {consumed} capacity units, "
            f"which exceeds its capacity of {capacity} (consumed {consumed} > capacity {capacity})"
        )
    return consumed


def _validated_rule(index: int, rule: object, ip_sets: Mapping[str, Any]) -> int:
    where = f"FirewallRules[{index}]"
    if not isinstance(rule, Mapping):
        raise InvalidRequestException(f"{where} must be an object")
    for required in ("Action", "ActionScope", "Hook", "Protocol"):
        if not isinstance(rule.get(required), str):
            raise InvalidRequestException(f"{where}.{required} is required")
    action, scope, hook, protocol = rule["Action"], rule["ActionScope"], rule["Hook"], rule["Protocol"]
    if action not in ACTIONS:
        raise InvalidRequestException(f"{where}.Action {action!r} is invalid: use one of {sorted(ACTIONS)}")
    if scope not in SCOPES:
        raise InvalidRequestException(
            f"{where}.ActionScope {scope!r} is invalid: use one of {sorted(SCOPES)}"
        )
    if action != "ACCEPT" and scope not in BLOCKING_SCOPES:
        raise InvalidRequestException(
            f"{where}: action {action} supports only the PACKET and FLOW scopes, got {scope}"
        )
    expected = hook_protocol(hook)
    if protocol != expected:
        raise InvalidRequestException(
            f"{where}: Protocol {protocol!r} does not match hook {hook!r} (its protocol is {expected})"
        )
    if hook.endswith("_PRE_FLOW") and is_packet_layer(hook) and scope != "PACKET":
        raise InvalidRequestException(
            f"{where}: hook {hook} runs before a flow exists and takes only the PACKET scope, got {scope}"
        )
    if scope == "TX" and is_packet_layer(hook):
        raise InvalidRequestException(f"{where}: the TX scope needs an application-layer hook, got {hook}")
    accept_prior = rule.get("AcceptPriorHooks")
    if accept_prior is not None and not isinstance(accept_prior, bool):
        raise InvalidRequestException(f"{where}.AcceptPriorHooks must be a boolean")
    for setting in ("SourcePorts", "DestPorts"):
        port = rule.get(setting)
        if port is not None and (not isinstance(port, str) or not _PORT.match(port)):
            raise InvalidRequestException(
                f"{where}.{setting} {str(port)[:60]!r} is not a port, range or variable"
            )
    sources = _address_count(f"{where}.SourceIPs", rule.get("SourceIPs"), ip_sets)
    destinations = _address_count(f"{where}.DestIPs", rule.get("DestIPs"), ip_sets)
    return sources * destinations


def _address_count(where: str, value: object, ip_sets: Mapping[str, Any]) -> int:
    """How many CIDRs the setting names once its variable is expanded (``any`` or absent: 1)."""
    if value is None or value == "any":
        return 1
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ADDRESS_CHARS:
        raise InvalidRequestException(f"{where} must be a string of 1-{MAX_ADDRESS_CHARS} characters")
    variable = _VARIABLE.match(value)
    if variable:
        ip_set = ip_sets.get(variable.group(1))
        if ip_set is None:
            raise InvalidRequestException(
                f"{where} references ${variable.group(1)}, "
                "which the group's RuleVariables.IPSets does not define"
            )
        return max(1, len(ip_set.get("Definition") or []))
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise InvalidRequestException(
            f"{where} {value[:60]!r} is not 'any', a CIDR block or an IP set variable ($NAME)"
        ) from None
    if "/" not in value:
        raise InvalidRequestException(f"{where} {value!r} must be in CIDR notation")
    return 1


def _rules_string_capacity(rules_string: object) -> int:
    if not isinstance(rules_string, str):
        raise InvalidRequestException("RulesString must be a string")
    lines = rules_string.splitlines()
    return len([line for line in lines if line.strip() and not line.lstrip().startswith("#")])


def referenced_variables(rules: Sequence[Mapping[str, Any]]) -> set[str]:
    """The IP-set variables modeled rules reference (used by the policy checks and tests)."""
    names = set()
    for rule in rules:
        for setting in ("SourceIPs", "DestIPs"):
            match = _VARIABLE.match(str(rule.get(setting) or ""))
            if match:
                names.add(match.group(1))
    return names
