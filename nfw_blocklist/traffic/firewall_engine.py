"""The Next Generation firewall engine: FIREWALL rule groups (``FirewallRuleGroup`` as DescribeRuleGroup
returns it, ``RulesSource.FirewallRules`` or ``RulesSourceList``), evaluated at connection-state hooks
(developer guide: "The firewall engine and the IPS engine", "Firewall engine hooks", "Firewall engine
actions and scopes", "Accepting prior hooks automatically", "Dropping at an application-layer hook under a
drop-by-default policy"; API: FirewallRule, FirewallPolicyV2.FirewallDefaultAction).

The model, hook by hook (a packet meets the hooks in this order and stops at the first verdict that ends
it; ``first`` is the flow's first packet):
- packet layer, for each of the packet's families (``IP``, ``IPV4``/``IPV6``, ``TCP``/``UDP``/``ICMP``):
  ``*_PRE_FLOW``, ``*_PRE_STREAM``, ``*_FLOW_START`` (first packet only), ``*_ALL``. At ``*_ALL`` the
  policy's default action applies when no rule matches; at the three filter hooks a packet no rule
  matches goes on (unverified: docs/TRAFFIC.md);
- application layer, only on the packet that carries it: a TLS ClientHello meets ``TLS_CLIENT_STARTED``
  then ``TLS_CLIENT_HELLO``; an HTTP/1 request meets ``HTTP1_REQUEST_STARTED``, ``HTTP1_REQUEST_LINE``,
  ``HTTP1_REQUEST_HEADERS``. At each of them the default action applies when no rule matches, unless an
  ACCEPT rule with ``AcceptPriorHooks`` that matches the packet sits at a later hook of the same protocol.
At a hook the rules run in section order (entries by ascending priority, each group's rules in order);
the first matching enabled rule decides: ACCEPT HOOK / TX goes on to the next hook, ACCEPT PACKET accepts
this packet, ACCEPT FLOW accepts the rest of the connection, DROP / REJECT* PACKET drop this packet, FLOW
the rest of the connection. Default actions: ACCEPT and ALERT go on, DROP drops the packet, REJECT drops
it with a reset. A rule matches when its Protocol is its hook's, its SourceIPs / DestIPs (CIDR, ``ANY``,
``$VARIABLE`` from ``RuleVariables.IPSets``, ``[lists]``, ``!``) and ports hold the packet's, and its
RuleOptions' content matches (``tls.sni`` / ``http.host`` with the ``suricata`` keywords) hold.
A domain list generates one rule per domain and target type at ``TLS_CLIENT_HELLO`` /
``HTTP1_REQUEST_HEADERS`` from ``$HOME_NET``: DENYLIST DROP FLOW, REJECTLIST REJECT FLOW, ALLOWLIST ACCEPT
FLOW with AcceptPriorHooks (unverified: AWS does not print the rules it generates for a firewall group).
A ``RulesString`` (Suricata firewall mode) is refused.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .packets import ICMP, TCP, UDP, Packet
from .suricata import ContentMatch, UnsupportedRule, Variables, parse_rule

ACTIONS: Final = frozenset({"ACCEPT", "DROP", "REJECT", "REJECT_DST", "REJECT_BOTH"})
SCOPES: Final = {
    "ACCEPT": frozenset({"FLOW", "TX", "HOOK", "PACKET"}),
    **{action: frozenset({"FLOW", "PACKET"}) for action in ("DROP", "REJECT", "REJECT_DST", "REJECT_BOTH")},
}
DEFAULT_ACTIONS: Final = frozenset({"DROP", "ACCEPT", "REJECT", "ALERT"})
PACKET_STAGES: Final = ("PRE_FLOW", "PRE_STREAM", "FLOW_START", "ALL")
APPLICATION_HOOKS: Final = {
    "TLS": ("TLS_CLIENT_STARTED", "TLS_CLIENT_HELLO"),
    "HTTP": ("HTTP1_REQUEST_STARTED", "HTTP1_REQUEST_LINE", "HTTP1_REQUEST_HEADERS"),
}
OPTION_KEYWORDS: Final = frozenset(
    {
        "tls.sni",
        "http.host",
        "content",
        "nocase",
        "startswith",
        "endswith",
        "dotprefix",
        "sid",
        "msg",
        "rev",
        "metadata",
    }
)


@dataclass(frozen=True)
class FirewallVerdict:
    """``action``: accept, drop or reject; ``scope``: packet or flow (a flow verdict holds for the rest
    of the connection); ``hook``/``rule``: where it was decided (rule: (entry index, rule index); None: the
    default action)."""

    action: str
    scope: str
    hook: str | None
    rule: tuple[int, int] | None

    @property
    def passes(self) -> bool:
        return self.action == "accept"


@dataclass(frozen=True)
class _Rule:
    entry: int
    index: int
    action: str
    scope: str
    hook: str
    protocol: str
    sources: str
    destinations: str
    source_ports: str
    destination_ports: str
    contents: tuple[ContentMatch, ...]
    accept_prior_hooks: bool
    variables: Variables


def _hook_protocol(hook: str) -> str:
    return "HTTP" if hook.startswith("HTTP1_") else hook.split("_")[0]


def _contents(protocol: str, options: Sequence[Mapping[str, Any]], where: str) -> tuple[ContentMatch, ...]:
    parts = []
    for option in options:
        keyword = str(option.get("Keyword"))
        if keyword not in OPTION_KEYWORDS:
            raise UnsupportedRule(f"{where}: rule option {keyword!r} is not supported by the verdict engine")
        settings = [str(setting) for setting in option.get("Settings") or []]
        parts.append(f"{keyword}:{','.join(settings)};" if settings else f"{keyword};")
    suricata_protocol = {"TLS": "tls", "HTTP": "http"}.get(protocol, "ip")
    return parse_rule(f"alert {suricata_protocol} any any -> any any ({' '.join(parts)})").contents


def _rules_of(entry: int, group: Mapping[str, Any], home_net: Sequence[str]) -> list[_Rule]:
    variables = Variables(group.get("RuleVariables"), home_net)
    source = group.get("RulesSource") or {}
    if source.get("RulesString"):
        raise UnsupportedRule(
            f"entry {entry}: a firewall-mode RulesString is not supported; use FirewallRules"
        )
    rules = list(source.get("FirewallRules") or [])
    if source.get("RulesSourceList"):
        rules = _domain_list_rules(source["RulesSourceList"])
    built = []
    for index, rule in enumerate(rules):
        where = f"entry {entry} rule {index}"
        if (rule.get("RuleMetadata") or {}).get("RuleEnabled") is False:
            continue
        action, scope, hook = str(rule["Action"]), str(rule["ActionScope"]), str(rule["Hook"])
        if action not in ACTIONS or scope not in SCOPES[action]:
            raise UnsupportedRule(f"{where}: {action}:{scope} is not a valid action and scope")
        protocol = str(rule["Protocol"])
        if _hook_protocol(hook) != protocol:
            raise UnsupportedRule(f"{where}: protocol {protocol} does not match hook {hook}")
        built.append(
            _Rule(
                entry,
                index,
                action,
                scope,
                hook,
                protocol,
                str(rule.get("SourceIPs") or "ANY"),
                str(rule.get("DestIPs") or "ANY"),
                str(rule.get("SourcePorts") or "ANY"),
                str(rule.get("DestPorts") or "ANY"),
                _contents(protocol, rule.get("RuleOptions") or [], where),
                bool(rule.get("AcceptPriorHooks")),
                variables,
            )
        )
    return built


def _domain_list_rules(source_list: Mapping[str, Any]) -> list[dict[str, Any]]:
    generated = source_list["GeneratedRulesType"]
    if generated == "ALERTLIST":
        return []  # an alert changes no verdict
    action = {"ALLOWLIST": "ACCEPT", "DENYLIST": "DROP", "REJECTLIST": "REJECT"}[generated]
    places = {
        "TLS_SNI": ("TLS", "TLS_CLIENT_HELLO", "tls.sni"),
        "HTTP_HOST": ("HTTP", "HTTP1_REQUEST_HEADERS", "http.host"),
    }
    rules = []
    for target_type in source_list["TargetTypes"]:
        protocol, hook, buffer = places[target_type]
        for target in source_list["Targets"]:
            match = [{"Keyword": "dotprefix"}] if target.startswith(".") else []
            modifiers = (
                ["nocase", "endswith"] if target.startswith(".") else ["nocase", "startswith", "endswith"]
            )
            rules.append(
                {
                    "Action": action,
                    "ActionScope": "FLOW",
                    "Hook": hook,
                    "Protocol": protocol,
                    "SourceIPs": "$HOME_NET",
                    "DestIPs": "ANY",
                    "AcceptPriorHooks": action == "ACCEPT",
                    "RuleOptions": [
                        {"Keyword": buffer},
                        *match,
                        {"Keyword": "content", "Settings": [f'"{target}"']},
                        *({"Keyword": modifier} for modifier in modifiers),
                    ],
                }
            )
    return rules


def _families(packet: Packet) -> tuple[str, ...]:
    version = "IPV4" if packet.source_address.version == 4 else "IPV6"
    transport = {TCP: "TCP", UDP: "UDP", ICMP: "ICMP"}.get(packet.protocol)
    return ("IP", version, *([transport] if transport else []))


class FirewallEngine:
    """The firewall section of a Next Generation policy."""

    def __init__(
        self,
        groups: Sequence[Mapping[str, Any]],
        *,
        default_action: str = "DROP",
        home_net: Sequence[str] = (),
    ) -> None:
        """``groups``: FirewallRuleGroup objects in the section's order (ascending entry priority)."""
        if default_action not in DEFAULT_ACTIONS:
            raise UnsupportedRule(
                f"FirewallDefaultAction {default_action!r} is not one of {sorted(DEFAULT_ACTIONS)}"
            )
        self.default_action = default_action
        self.rules = [
            rule for entry, group in enumerate(groups) for rule in _rules_of(entry, group, home_net)
        ]

    def _default(self, hook: str) -> FirewallVerdict | None:
        if self.default_action in ("ACCEPT", "ALERT"):
            return None
        return FirewallVerdict(self.default_action.lower(), "packet", hook, None)

    def _match(self, rule: _Rule, packet: Packet) -> bool:
        ported = packet.protocol in (TCP, UDP)
        return (
            rule.variables.address_in(_any(rule.sources), packet.source)
            and rule.variables.address_in(_any(rule.destinations), packet.destination)
            and (not ported or rule.variables.port_in(_any(rule.source_ports), packet.source_port))
            and (not ported or rule.variables.port_in(_any(rule.destination_ports), packet.destination_port))
            and all(content.matches(packet) for content in rule.contents)
        )

    def _at(self, hooks: frozenset[str], packet: Packet) -> _Rule | None:
        return next((rule for rule in self.rules if rule.hook in hooks and self._match(rule, packet)), None)

    def judge(self, packet: Packet, *, first: bool) -> FirewallVerdict:
        """The verdict for one packet of a flow no flow-scoped verdict holds yet."""
        families = _families(packet)
        for stage in PACKET_STAGES:
            if stage == "FLOW_START" and not first:
                continue
            hooks = frozenset(f"{family}_{stage}" for family in families)
            rule = self._at(hooks, packet)
            if rule is None:
                if stage == "ALL":
                    verdict = self._default(f"{families[-1]}_ALL")
                    if verdict is not None:
                        return verdict
                continue
            verdict = _verdict(rule)
            if verdict is not None:
                return verdict
        for protocol, sequence in APPLICATION_HOOKS.items():
            carried = packet.sni if protocol == "TLS" else packet.http_host
            if carried is None:
                continue
            for position, hook in enumerate(sequence):
                rule = self._at(frozenset({hook}), packet)
                if rule is None:
                    later = frozenset(sequence[position + 1 :])
                    prior_accepted = any(
                        r.hook in later
                        and r.action == "ACCEPT"
                        and r.accept_prior_hooks
                        and self._match(r, packet)
                        for r in self.rules
                    )
                    if prior_accepted:
                        continue
                    verdict = self._default(hook)
                    if verdict is not None:
                        return verdict
                    continue
                verdict = _verdict(rule)
                if verdict is not None:
                    return verdict
        return FirewallVerdict("accept", "packet", None, None)


def _any(spec: str) -> str:
    return "any" if spec.upper() == "ANY" else spec


def _verdict(rule: _Rule) -> FirewallVerdict | None:
    """The verdict a matching rule gives, or None when it lets the packet go on to the next hook."""
    if rule.action == "ACCEPT" and rule.scope in ("HOOK", "TX"):
        return None
    action = "accept" if rule.action == "ACCEPT" else ("drop" if rule.action == "DROP" else "reject")
    return FirewallVerdict(action, rule.scope.lower(), rule.hook, (rule.entry, rule.index))
