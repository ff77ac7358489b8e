"""The verdict engine: what Network Firewall and Route 53 DNS Firewall do with a packet or a query, given
rule groups in the shapes their Describe/List APIs return (the oracle the writer's rules are judged by).

It shares no code with the writer (``handlers``): a rule the writer gets wrong is then judged by an
independent reading of AWS's documentation (docs/TRAFFIC.md lists the sources and the simplifications).

- ``stateless``: the stateless engine (priority order, match attributes, standard and custom actions);
- ``suricata``: the subset of Suricata Network Firewall generates from domain lists (TLS SNI, HTTP Host),
  and the domain list's own rules as AWS documents them; anything else is refused by name;
- ``firewall_engine``: the Next Generation firewall engine (FIREWALL rule groups: hooks, scopes);
- ``dns``: Route 53 Resolver DNS Firewall on one query;
- ``packets``: the packets and flows they judge.
"""

from .dns import DnsAnswer, DnsRule, resolve
from .firewall_engine import FirewallEngine, FirewallVerdict
from .packets import ICMP, TCP, UDP, FlowKey, Packet
from .stateless import StatelessPolicy, StatelessVerdict
from .suricata import StatefulEngine, StatefulVerdict, UnsupportedRule, domain_list_rules, parse_rules

__all__ = [
    "ICMP",
    "TCP",
    "UDP",
    "DnsAnswer",
    "DnsRule",
    "FirewallEngine",
    "FirewallVerdict",
    "FlowKey",
    "Packet",
    "StatefulEngine",
    "StatefulVerdict",
    "StatelessPolicy",
    "StatelessVerdict",
    "UnsupportedRule",
    "domain_list_rules",
    "parse_rules",
    "resolve",
]
