"""Stateful domain-list rule groups: what Network Firewall refuses in a ``RulesSourceList`` and in the
rule variables (``HOME_NET``), and the capacity such a list consumes.

Like ``rules.py`` this is an independent statement of AWS's rules (it shares no code with the handlers):
- ``Targets``: explicit names (``abc.example.com``) or, with a leading ``.``, a name and all its
  subdomains (``.example.com``), as the API reference documents. We refuse anything that is not an
  RFC 1123 host name (empty labels, labels over 63 characters, names over 253, characters other than
  letters, digits and inner hyphens): DNS names may also hold underscores and edge hyphens, but AWS
  documents no character set for ``Targets``, so the sandbox enforces the conservative reading
  (docs/LIMITS.md, unverified); and an empty list: the API model sets no minimum, but the console
  requires a domain and nothing documents that UpdateRuleGroup accepts none, so the sandbox holds the
  writer to never sending one.
- ``TargetTypes``: ``TLS_SNI`` and/or ``HTTP_HOST`` (``AWS_ROUTE_53_RESOLVED_DOMAIN`` exists in the model
  for other uses and is refused here), at least one, no repeats.
- ``GeneratedRulesType``: ``DENYLIST``, ``ALLOWLIST``, ``ALERTLIST`` or ``REJECTLIST``.
- ``RuleVariables.IPSets``: names of 1-32 characters, a letter then letters, digits and underscores
  (the model's pattern), each with at least one CIDR.
- ``StatefulRuleOptions.RuleOrder``: ``DEFAULT_ACTION_ORDER`` (the default) or ``STRICT_ORDER``, only on a
  stateful group; a policy accepts only stateful groups of its own order (``policies.py``).
- Capacity: domains x target types + target types, the best public measurement (cloudnetworks.io,
  2021: a group of capacity 100 on one protocol took 99 domains and refused 100).
"""

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from .errors import InvalidRequestException

RULE_ORDERS = frozenset({"DEFAULT_ACTION_ORDER", "STRICT_ORDER"})
DEFAULT_RULE_ORDER = "DEFAULT_ACTION_ORDER"
"""What a group without StatefulRuleOptions, or a policy without StatefulEngineOptions, uses."""
TARGET_TYPES = frozenset({"TLS_SNI", "HTTP_HOST"})
GENERATED_RULES_TYPES = frozenset({"DENYLIST", "ALLOWLIST", "ALERTLIST", "REJECTLIST"})
MAX_NAME_CHARS = 253
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


def domain_list_capacity(source_list: Mapping[str, Any]) -> int:
    protocols = len(source_list.get("TargetTypes") or [])
    return len(source_list.get("Targets") or []) * protocols + protocols


def validate_source_list(source_list: object) -> None:
    if not isinstance(source_list, Mapping):
        raise InvalidRequestException("RulesSourceList must be an object")
    generated = source_list.get("GeneratedRulesType")
    if generated not in GENERATED_RULES_TYPES:
        raise InvalidRequestException(
            f"RulesSourceList.GeneratedRulesType {generated!r} is invalid: use one of "
            f"{', '.join(sorted(GENERATED_RULES_TYPES))}"
        )
    types = source_list.get("TargetTypes")
    if not isinstance(types, list) or not types or len(set(types)) != len(types):
        raise InvalidRequestException(
            "RulesSourceList.TargetTypes must list TLS_SNI and/or HTTP_HOST once each"
        )
    for target_type in types:
        if target_type not in TARGET_TYPES:
            raise InvalidRequestException(
                f"RulesSourceList.TargetTypes: {target_type!r} is invalid; use TLS_SNI or HTTP_HOST"
            )
    targets = source_list.get("Targets")
    if not isinstance(targets, list) or not targets:
        raise InvalidRequestException("RulesSourceList.Targets must list at least one domain")
    for target in targets:
        _validate_target(target)


def _validate_target(target: object) -> None:
    if not isinstance(target, str):
        raise InvalidRequestException(f"RulesSourceList.Targets: {target!r} is not a string")
    name = target[1:] if target.startswith(".") else target
    labels = name.split(".")
    if not name or len(name) > MAX_NAME_CHARS or not all(_LABEL.match(label) for label in labels):
        raise InvalidRequestException(
            f"RulesSourceList.Targets: {target[:300]!r} is not a valid domain specification "
            "(an explicit name, or a name with a leading '.' for it and its subdomains)"
        )


def rule_order(options: object) -> str:
    """The RuleOrder of a group's StatefulRuleOptions or a policy's StatefulEngineOptions (absent: the
    default action order); a value outside the model's enum is refused."""
    order = (options or {}).get("RuleOrder") if isinstance(options, Mapping) or options is None else None
    if order is None:
        return DEFAULT_RULE_ORDER
    if order not in RULE_ORDERS:
        raise InvalidRequestException(f"parameter is invalid, parameter: [{order}]")
    return str(order)


def validate_rule_variables(variables: object) -> None:
    if variables is None:
        return
    if not isinstance(variables, Mapping):
        raise InvalidRequestException("RuleVariables must be an object")
    ip_sets = variables.get("IPSets") or {}
    if not isinstance(ip_sets, Mapping):
        raise InvalidRequestException("RuleVariables.IPSets must be a map")
    for name, ip_set in ip_sets.items():
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise InvalidRequestException(f"RuleVariables.IPSets: variable name {name!r} is invalid")
        definition = ip_set.get("Definition") if isinstance(ip_set, Mapping) else None
        if not isinstance(definition, list) or not definition:
            raise InvalidRequestException(f"RuleVariables.IPSets.{name}: Definition must list CIDRs")
        for cidr in definition:
            if not _is_cidr(cidr):
                raise InvalidRequestException(
                    f"RuleVariables.IPSets.{name}: {str(cidr)[:60]!r} is not a CIDR block"
                )


def _is_cidr(value: object) -> bool:
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True
