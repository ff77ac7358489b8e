"""The subset of Suricata that Network Firewall's stateful engine runs for a domain-list rule group, and the
rules AWS generates from one (developer guide, "Stateful domain list rule groups in AWS Network Firewall",
"Examples of stateful rules": domain list rules; Suricata 7 documentation, "Rules Format", "Transformations",
"TLS keywords" and "HTTP keywords").

Supported (anything else is refused with ``UnsupportedRule`` naming it):
- actions ``pass``, ``drop``, ``reject``, ``alert``; protocols ``tls``, ``http``, ``tcp``, ``udp``, ``icmp``,
  ``ip``; directions ``->`` and ``<>``; addresses ``any``, CIDRs, ``$VARIABLES`` (``RuleVariables.IPSets``;
  ``HOME_NET`` defaults to the firewall's VPC, ``EXTERNAL_NET`` to everything outside ``HOME_NET``),
  ``[lists]`` and ``!`` negation; ports ``any``, numbers, ``a:b`` ranges, lists, negation, ``$PORT_SETS``;
- keywords ``tls.sni`` and ``http.host`` (sticky buffers; ``http.host`` is lower-cased, as Suricata
  normalises it), ``content`` with ``nocase``, ``startswith``, ``endswith`` and the ``dotprefix``
  transformation, ``flow`` (``to_server``/``from_client``, ``to_client``/``from_server``, ``established``,
  ``not_established``), ``ssl_state:client_hello``, ``ssl_version:any``; and the ones that do not change a
  verdict: ``msg``, ``sid``, ``rev``, ``priority``, ``metadata``, ``classtype``.

Rule order: ``DEFAULT_ACTION_ORDER`` (every matching rule counts; pass beats drop beats reject beats alert)
or ``STRICT_ORDER`` (the first matching pass/drop/reject decides, alerts before it are kept).
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from .packets import ICMP, TCP, UDP, Packet, in_cidr

ACTIONS: Final = ("pass", "drop", "reject", "alert")
"""In DEFAULT_ACTION_ORDER precedence."""
PROTOCOLS: Final = frozenset({"tls", "http", "tcp", "udp", "icmp", "ip"})
NO_EFFECT_KEYWORDS: Final = frozenset({"msg", "sid", "rev", "priority", "metadata", "classtype"})
MODIFIERS: Final = frozenset({"nocase", "startswith", "endswith", "dotprefix"})
BUFFERS: Final = frozenset({"tls.sni", "http.host"})
FLOW_OPTIONS: Final = frozenset(
    {"to_server", "from_client", "to_client", "from_server", "established", "not_established"}
)


class UnsupportedRule(ValueError):
    """A rule (or keyword, protocol, address...) outside the supported subset; the message names it."""


@dataclass(frozen=True)
class ContentMatch:
    buffer: str
    content: str
    nocase: bool = False
    startswith: bool = False
    endswith: bool = False
    dotprefix: bool = False

    def matches(self, packet: Packet) -> bool:
        value = packet.sni if self.buffer == "tls.sni" else packet.http_host
        if value is None:
            return False
        if self.buffer == "http.host":
            value = value.lower()
        if self.dotprefix:
            value = "." + value
        wanted = self.content
        if self.nocase:
            value, wanted = value.lower(), wanted.lower()
        if self.startswith and self.endswith:
            return value == wanted
        if self.startswith:
            return value.startswith(wanted)
        if self.endswith:
            return value.endswith(wanted)
        return wanted in value


@dataclass(frozen=True)
class Rule:
    action: str
    protocol: str
    sources: str
    source_ports: str
    bidirectional: bool
    destinations: str
    destination_ports: str
    contents: tuple[ContentMatch, ...] = ()
    flow: frozenset[str] = frozenset()
    client_hello: bool = False
    sid: int | None = None
    text: str = field(default="", compare=False)


_RULE = re.compile(
    r"^\s*(\S+)\s+(\S+)\s+(\S+|\[[^\]]*\])\s+(\S+|\[[^\]]*\])\s+(->|<>)\s+(\S+|\[[^\]]*\])\s+(\S+|\[[^\]]*\])\s*\((.*)\)\s*$"
)


def _options(body: str) -> list[tuple[str, str | None]]:
    """``keyword[:value];`` pairs, honouring quotes and backslash escapes in values."""
    options: list[tuple[str, str | None]] = []
    current, quoted, escaped = "", False, False
    for char in body:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            current, escaped = current + char, True
        elif char == '"':
            current, quoted = current + char, not quoted
        elif char == ";" and not quoted:
            if current.strip():
                keyword, _, value = current.strip().partition(":")
                options.append((keyword.strip(), value.strip() if _ else None))
            current = ""
        else:
            current += char
    if current.strip():
        raise UnsupportedRule(f"option {current.strip()!r} is not closed with ';'")
    return options


def _content(value: str | None) -> str:
    if value is None or not (value.startswith('"') and value.endswith('"')) or len(value) < 2:
        raise UnsupportedRule(f"content {value!r} must be a quoted string")
    text = value[1:-1]
    if "|" in text:
        raise UnsupportedRule(f"content {value!r}: hex bytes (|..|) are not supported")
    return re.sub(r"\\(.)", r"\1", text)


def parse_rule(line: str) -> Rule:
    match = _RULE.match(line)
    if not match:
        raise UnsupportedRule(f"not a Suricata rule: {line[:120]!r}")
    action, protocol, sources, sports, direction, destinations, dports, body = match.groups()
    if action not in ACTIONS:
        raise UnsupportedRule(f"action {action!r} is not supported (use one of {', '.join(ACTIONS)})")
    if protocol not in PROTOCOLS:
        raise UnsupportedRule(
            f"protocol {protocol!r} is not supported (use one of {', '.join(sorted(PROTOCOLS))})"
        )
    contents: list[ContentMatch] = []
    flow: set[str] = set()
    client_hello = False
    sid: int | None = None
    buffer: str | None = None
    for keyword, value in _options(body):
        if keyword in BUFFERS:
            needed = keyword.split(".")[0]
            if protocol != needed:
                raise UnsupportedRule(f"{keyword} needs protocol {needed}, not {protocol}")
            buffer = keyword
        elif keyword == "content":
            if buffer is None:
                raise UnsupportedRule("content outside tls.sni / http.host (raw payload) is not supported")
            contents.append(ContentMatch(buffer, _content(value)))
        elif keyword in MODIFIERS:
            if keyword == "dotprefix":  # a transformation: it precedes the content it applies to
                contents.append(ContentMatch(str(buffer), "\0dotprefix"))
                continue
            if not contents:
                raise UnsupportedRule(f"{keyword} without a content before it")
            last = contents[-1]
            contents[-1] = ContentMatch(**{**last.__dict__, keyword: True})
        elif keyword == "flow":
            options = {item.strip() for item in (value or "").split(",")}
            unknown = options - FLOW_OPTIONS
            if unknown:
                raise UnsupportedRule(f"flow option(s) {sorted(unknown)} are not supported")
            flow |= options
        elif keyword == "ssl_state":
            if value != "client_hello":
                raise UnsupportedRule(f"ssl_state:{value} is not supported (only client_hello)")
            client_hello = True
        elif keyword == "ssl_version":
            if value != "any":
                raise UnsupportedRule(f"ssl_version:{value} is not supported (only any)")
        elif keyword == "sid":
            sid = int(str(value))
        elif keyword not in NO_EFFECT_KEYWORDS:
            raise UnsupportedRule(f"keyword {keyword!r} is not supported by the verdict engine")
    return Rule(
        action,
        protocol,
        sources,
        sports,
        direction == "<>",
        destinations,
        dports,
        _fold_dotprefix(contents),
        frozenset(flow),
        client_hello,
        sid,
        line.strip(),
    )


def _fold_dotprefix(contents: list[ContentMatch]) -> tuple[ContentMatch, ...]:
    folded: list[ContentMatch] = []
    pending = False
    for content in contents:
        if content.content == "\0dotprefix":
            pending = True
            continue
        folded.append(ContentMatch(**{**content.__dict__, "dotprefix": pending}) if pending else content)
        pending = False
    return tuple(folded)


def parse_rules(rules_string: str) -> list[Rule]:
    """Every rule of a ``RulesString`` (blank and ``#`` lines skipped); the first unsupported one raises."""
    return [
        parse_rule(line)
        for line in rules_string.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def domain_list_rules(source_list: Mapping[str, Any], first_sid: int = 1) -> list[Rule]:
    """The rules AWS generates from a ``RulesSourceList``: per target type, a content match on the TLS SNI
    or HTTP Host of flows from ``$HOME_NET`` (a leading ``.`` matches the name and its subdomains, through
    ``dotprefix`` + ``endswith``; an explicit name matches exactly). ALLOWLIST passes the names and drops
    every other TLS/HTTP flow; DENYLIST drops them, REJECTLIST rejects them, ALERTLIST alerts."""
    generated = source_list["GeneratedRulesType"]
    action = {"ALLOWLIST": "pass", "DENYLIST": "drop", "REJECTLIST": "reject", "ALERTLIST": "alert"}[
        generated
    ]
    protocols = {"TLS_SNI": ("tls", "tls.sni"), "HTTP_HOST": ("http", "http.host")}
    lines: list[str] = []
    sid = first_sid
    for target_type in source_list["TargetTypes"]:
        protocol, buffer = protocols[target_type]
        for target in source_list["Targets"]:
            if target.startswith("."):
                match = f'{buffer}; dotprefix; content:"{target}"; nocase; endswith;'
            else:
                match = f'{buffer}; content:"{target}"; nocase; startswith; endswith;'
            lines.append(
                f"{action} {protocol} $HOME_NET any -> $EXTERNAL_NET any ({match} "
                f'msg:"matching {generated} FQDNs"; flow:to_server, established; sid:{sid}; rev:1;)'
            )
            sid += 1
        if generated == "ALLOWLIST":
            state = " ssl_state:client_hello; ssl_version:any;" if protocol == "tls" else ""
            lines.append(
                f'drop {protocol} $HOME_NET any -> $EXTERNAL_NET any (msg:"not matching any allowlisted '
                f'FQDNs"; flow:to_server, established;{state} sid:{sid}; rev:1;)'
            )
            sid += 1
    return [parse_rule(line) for line in lines]


@dataclass(frozen=True)
class StatefulVerdict:
    """What the stateful engine decided for a packet: ``pass``, ``drop``, ``reject`` or None (no rule
    decided: the flow goes on, and later packets are inspected again)."""

    action: str | None
    sid: int | None
    alerts: tuple[int | None, ...] = ()


class Variables:
    """A group's rule variables (IPSets, PortSets) and how addresses and ports are read through them."""

    def __init__(self, variables: Mapping[str, Any] | None, home_net: Sequence[str]) -> None:
        ip_sets = dict((variables or {}).get("IPSets") or {})
        self.ip_sets = {name: list(value["Definition"]) for name, value in ip_sets.items()}
        self.ip_sets.setdefault("HOME_NET", list(home_net))
        self.port_sets = {
            name: list(value["Definition"])
            for name, value in ((variables or {}).get("PortSets") or {}).items()
        }

    def address_in(self, spec: str, address: str) -> bool:
        return _in_spec(spec, address, self._address_atom_in)

    def _address_atom_in(self, spec: str, address: str) -> bool:
        if spec.startswith("$"):
            name = spec[1:]
            if name == "EXTERNAL_NET" and name not in self.ip_sets:
                return not self.address_in("$HOME_NET", address)
            if name not in self.ip_sets:
                raise UnsupportedRule(f"variable ${name} is not defined in RuleVariables.IPSets")
            return any(in_cidr(address, cidr) for cidr in self.ip_sets[name])
        try:
            return in_cidr(address, spec)
        except ValueError as error:
            raise UnsupportedRule(f"address {spec!r} is not supported") from error

    def port_in(self, spec: str, port: int) -> bool:
        return _in_spec(spec, port, self._port_atom_in)

    def _port_atom_in(self, spec: str, port: int) -> bool:
        if spec.startswith("$"):
            values = self.port_sets.get(spec[1:])
            if values is None:
                raise UnsupportedRule(f"port variable {spec} is not defined in RuleVariables.PortSets")
            return any(self.port_in(value, port) for value in values)
        low, _, high = spec.partition(":")
        try:
            return int(low or 0) <= port <= int(high or 65535) if _ else port == int(low)
        except ValueError as error:
            raise UnsupportedRule(f"port {spec!r} is not supported") from error


_Value = TypeVar("_Value", str, int)


def _in_spec(spec: str, value: _Value, atom_in: Callable[[str, _Value], bool]) -> bool:
    """Whether ``value`` is in a Suricata address or port ``spec``: negation (``!``), lists (``[...]``:
    in any positive item, or in all if none, and in no negated one) and ``any`` are read here, the rest
    (a variable, a CIDR, a port range) by ``atom_in``."""
    spec = spec.strip()
    if spec.startswith("!"):
        return not _in_spec(spec[1:], value, atom_in)
    if spec.startswith("[") and spec.endswith("]"):
        items = [item for item in _split_list(spec[1:-1]) if item]
        positives = [item for item in items if not item.startswith("!")]
        negatives = [item for item in items if item.startswith("!")]
        inside = not positives or any(_in_spec(item, value, atom_in) for item in positives)
        return inside and all(_in_spec(item, value, atom_in) for item in negatives)
    if spec == "any":
        return True
    return atom_in(spec, value)


def _split_list(text: str) -> list[str]:
    items, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        current += char
    items.append(current.strip())
    return items


class StatefulEngine:
    """The stateful rules of a policy, each group's rules with its own variables, in one rule order."""

    def __init__(
        self,
        groups: Sequence[Mapping[str, Any]],
        *,
        home_net: Sequence[str],
        rule_order: str = "DEFAULT_ACTION_ORDER",
    ) -> None:
        """``groups``: RuleGroup objects as DescribeRuleGroup returns them, in the policy's order
        (STRICT_ORDER: ascending reference Priority). ``home_net``: the firewall VPC's CIDRs, the HOME_NET
        of a group that sets none."""
        if rule_order not in ("DEFAULT_ACTION_ORDER", "STRICT_ORDER"):
            raise UnsupportedRule(f"rule order {rule_order!r} is not supported")
        self.rule_order = rule_order
        self.rules: list[tuple[Rule, Variables]] = []
        for group in groups:
            variables = Variables(group.get("RuleVariables"), home_net)
            source = group.get("RulesSource") or {}
            if source.get("RulesSourceList"):
                rules = domain_list_rules(source["RulesSourceList"])
            elif source.get("RulesString"):
                rules = parse_rules(source["RulesString"])
            else:
                raise UnsupportedRule(
                    f"stateful RulesSource {sorted(source)} is not supported (StatefulRules)"
                )
            self.rules.extend((rule, variables) for rule in rules)

    def judge(self, packet: Packet, *, to_server: bool, established: bool) -> StatefulVerdict:
        matched = [
            rule
            for rule, variables in self.rules
            if _matches(rule, variables, packet, to_server, established)
        ]
        alerts = tuple(rule.sid for rule in matched if rule.action == "alert")
        if self.rule_order == "STRICT_ORDER":
            deciding = next((rule for rule in matched if rule.action != "alert"), None)
            if deciding is None:
                return StatefulVerdict(None, None, alerts)
            before = tuple(rule.sid for rule in matched[: matched.index(deciding)] if rule.action == "alert")
            return StatefulVerdict(deciding.action, deciding.sid, before)
        for action in ACTIONS[:3]:
            for rule in matched:
                if rule.action == action:
                    return StatefulVerdict(action, rule.sid, alerts)
        return StatefulVerdict(None, None, alerts)


def _matches(rule: Rule, variables: Variables, packet: Packet, to_server: bool, established: bool) -> bool:
    if rule.protocol == "tls" and packet.sni is None:
        return False
    if rule.protocol == "http" and packet.http_host is None:
        return False
    wanted = {"tcp": TCP, "udp": UDP, "icmp": ICMP, "tls": TCP, "http": TCP}.get(rule.protocol)
    if wanted is not None and packet.protocol != wanted:
        return False
    if rule.flow & {"to_server", "from_client"} and not to_server:
        return False
    if rule.flow & {"to_client", "from_server"} and to_server:
        return False
    if "established" in rule.flow and not established:
        return False
    if "not_established" in rule.flow and established:
        return False
    if rule.client_hello and packet.sni is None:
        return False
    forward = _endpoints(
        rule, variables, packet.source, packet.source_port, packet.destination, packet.destination_port
    )
    backward = rule.bidirectional and _endpoints(
        rule, variables, packet.destination, packet.destination_port, packet.source, packet.source_port
    )
    if not (forward or backward):
        return False
    return all(content.matches(packet) for content in rule.contents)


def _endpoints(rule: Rule, variables: Variables, src: str, sport: int, dst: str, dport: int) -> bool:
    ported = rule.protocol not in ("icmp", "ip")
    return (
        variables.address_in(rule.sources, src)
        and variables.address_in(rule.destinations, dst)
        and (not ported or variables.port_in(rule.source_ports, sport))
        and (not ported or variables.port_in(rule.destination_ports, dport))
    )
