"""The verdict engine (nfw_blocklist.traffic) on hand-built rule groups in the API's shapes: the stateless
engine, the domain list and its Suricata subset, DNS Firewall and the Next Generation firewall engine."""

import pytest

from nfw_blocklist.traffic import (
    ICMP,
    TCP,
    UDP,
    DnsRule,
    FirewallEngine,
    Packet,
    StatefulEngine,
    StatelessPolicy,
    UnsupportedRule,
    parse_rules,
    resolve,
)
from tests.traffic_groups import (
    BAD,
    GOOD,
    INSTANCE,
    blocklist_group,
    domain_group,
    firewall_group,
    firewall_rule,
)


def rule(priority: int, actions: list[str], **match: object) -> dict:
    return {"Priority": priority, "RuleDefinition": {"MatchAttributes": match, "Actions": actions}}


def group_of(*rules: dict) -> dict:
    return {"RulesSource": {"StatelessRulesAndCustomActions": {"StatelessRules": list(rules)}}}


@pytest.mark.parametrize(
    ("source", "destination", "action", "dimensions"),
    [
        (INSTANCE, BAD, "aws:drop", ("BlocklistDrop",)),
        (BAD, INSTANCE, "aws:drop", ("BlocklistDrop",)),
        (INSTANCE, GOOD, "aws:forward_to_sfe", ()),
        (GOOD, INSTANCE, "aws:forward_to_sfe", ()),
    ],
)
def test_the_blocklist_drops_both_directions_of_a_blocked_host_and_publishes_its_metric(
    source, destination, action, dimensions
):
    verdict = StatelessPolicy([(1, blocklist_group(BAD))]).judge(Packet(source, destination, TCP, 40000, 443))
    assert (verdict.action, verdict.metric_dimensions) == (action, dimensions)


def test_an_empty_blocklist_drops_nothing():
    verdict = StatelessPolicy([(1, blocklist_group())]).judge(Packet(INSTANCE, BAD, TCP, 40000, 443))
    assert verdict.action == "aws:forward_to_sfe" and verdict.rule is None


def test_rules_run_in_priority_order_not_list_order():
    group = group_of(
        rule(20, ["aws:drop"], Sources=[{"AddressDefinition": "0.0.0.0/0"}]),
        rule(10, ["aws:pass"], Sources=[{"AddressDefinition": f"{BAD}/32"}]),
    )
    assert StatelessPolicy([(1, group)]).judge(Packet(BAD, INSTANCE)).action == "aws:pass"
    assert StatelessPolicy([(1, group)]).judge(Packet(GOOD, INSTANCE)).action == "aws:drop"


def test_groups_run_in_reference_priority_order():
    passing = group_of(rule(1, ["aws:pass"]))
    dropping = group_of(rule(1, ["aws:drop"]))
    assert StatelessPolicy([(200, dropping), (100, passing)]).judge(Packet(BAD, GOOD)).action == "aws:pass"


@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (Packet(GOOD, INSTANCE, TCP, 5000, 22), "aws:drop"),
        (Packet(GOOD, INSTANCE, UDP, 5000, 22), "aws:drop"),
        (Packet(GOOD, INSTANCE, TCP, 5000, 23), "aws:pass"),
        (Packet(GOOD, INSTANCE, ICMP), "aws:pass"),
    ],
)
def test_ports_match_tcp_and_udp_only(packet, expected):
    group = group_of(rule(1, ["aws:drop"], DestinationPorts=[{"FromPort": 20, "ToPort": 22}]))
    assert StatelessPolicy([(1, group)], default_actions=["aws:pass"]).judge(packet).action == expected


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (frozenset({"SYN"}), "aws:drop"),
        (frozenset({"SYN", "ACK"}), "aws:pass"),
        (frozenset({"SYN", "PSH"}), "aws:drop"),
        (frozenset({"ACK"}), "aws:pass"),
    ],
)
def test_tcp_flags_are_read_through_their_masks(flags, expected):
    group = group_of(rule(1, ["aws:drop"], TCPFlags=[{"Flags": ["SYN"], "Masks": ["SYN", "ACK"]}]))
    packet = Packet(GOOD, INSTANCE, TCP, 5000, 80, tcp_flags=flags)
    assert StatelessPolicy([(1, group)], default_actions=["aws:pass"]).judge(packet).action == expected


def test_protocols_match_the_ip_protocol_number():
    group = group_of(rule(1, ["aws:drop"], Protocols=[UDP]))
    policy = StatelessPolicy([(1, group)], default_actions=["aws:pass"])
    assert [policy.judge(Packet(GOOD, INSTANCE, p)).action for p in (UDP, TCP)] == ["aws:drop", "aws:pass"]


def test_a_policy_default_custom_action_publishes_its_dimension():
    policy = StatelessPolicy(
        [],
        default_actions=["aws:pass", "Seen"],
        custom_actions=[
            {
                "ActionName": "Seen",
                "ActionDefinition": {"PublishMetricAction": {"Dimensions": [{"Value": "All"}]}},
            }
        ],
    )
    assert policy.judge(Packet(GOOD, INSTANCE)).metric_dimensions == ("All",)


def test_an_undefined_custom_action_is_refused_by_name():
    with pytest.raises(ValueError, match="custom action 'Nope' is not defined"):
        StatelessPolicy([(1, group_of(rule(1, ["aws:drop", "Nope"])))]).judge(Packet(GOOD, INSTANCE))


def hello(source: str = INSTANCE, sni: str | None = None, host: str | None = None) -> Packet:
    return Packet(source, GOOD, TCP, 40000, 443, frozenset({"PSH", "ACK"}), sni=sni, http_host=host)


@pytest.mark.parametrize(
    ("target", "name", "dropped"),
    [
        (".evil.example", "evil.example", True),
        (".evil.example", "c2.evil.example", True),
        (".evil.example", "C2.EVIL.example", True),
        (".evil.example", "notevil.example", False),
        ("evil.example", "evil.example", True),
        ("evil.example", "c2.evil.example", False),
    ],
)
def test_a_deny_list_drops_the_names_it_holds_over_tls_and_http(target, name, dropped):
    engine = StatefulEngine([domain_group([target])], home_net=["10.0.0.0/16"])
    for packet in (hello(sni=name), hello(host=name)):
        verdict = engine.judge(packet, to_server=True, established=True)
        assert (verdict.action == "drop") is dropped, packet


def test_a_deny_list_inspects_only_clients_in_home_net():
    engine = StatefulEngine(
        [domain_group([".evil.example"], home_net=["10.9.0.0/16"])], home_net=["10.0.0.0/16"]
    )
    assert engine.judge(hello(sni="evil.example"), to_server=True, established=True).action is None
    inside = hello(source="10.9.0.4", sni="evil.example")
    assert engine.judge(inside, to_server=True, established=True).action == "drop"


def test_packets_before_the_client_hello_are_not_decided():
    engine = StatefulEngine([domain_group([".evil.example"])], home_net=["10.0.0.0/16"])
    syn = Packet(INSTANCE, GOOD, TCP, 40000, 443, frozenset({"SYN"}))
    assert engine.judge(syn, to_server=True, established=False).action is None


def test_an_allow_list_passes_its_names_and_drops_other_tls():
    engine = StatefulEngine([domain_group([".good.example"], "ALLOWLIST")], home_net=["10.0.0.0/16"])
    assert engine.judge(hello(sni="www.good.example"), to_server=True, established=True).action == "pass"
    assert engine.judge(hello(sni="other.example"), to_server=True, established=True).action == "drop"


def test_an_alert_list_alerts_and_decides_nothing():
    engine = StatefulEngine([domain_group(["x.example"], "ALERTLIST")], home_net=["10.0.0.0/16"])
    verdict = engine.judge(hello(sni="x.example"), to_server=True, established=True)
    assert verdict.action is None and len(verdict.alerts) == 1


def test_strict_order_takes_the_first_matching_rule_and_default_order_the_strongest_action():
    rules = (
        'drop tls $HOME_NET any -> any any (tls.sni; content:"a.example"; sid:1;)\n'
        'pass tls $HOME_NET any -> any any (tls.sni; content:"a.example"; sid:2;)\n'
    )
    group = {"RulesSource": {"RulesString": rules}}
    packet = hello(sni="a.example")
    strict = StatefulEngine([group], home_net=["10.0.0.0/8"], rule_order="STRICT_ORDER")
    default = StatefulEngine([group], home_net=["10.0.0.0/8"])
    assert strict.judge(packet, to_server=True, established=True).sid == 1
    assert default.judge(packet, to_server=True, established=True).sid == 2


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ('drop tls any any -> any any (tls.cert_subject; content:"x";)', "tls.cert_subject"),
        ('drop tcp any any -> any any (content:"x";)', "raw payload"),
        ('drop dns any any -> any any (dns.query; content:"x";)', "protocol 'dns'"),
        ('reject tls any any -> any any (pcre:"/x/";)', "pcre"),
        ("rewrite tcp any any -> any any (sid:1;)", "action 'rewrite'"),
        ('drop http any any -> any any (http.host; content:"|41|";)', "hex bytes"),
    ],
)
def test_keywords_outside_the_subset_are_refused_by_name(line, named):
    with pytest.raises(UnsupportedRule, match=named):
        parse_rules(line)


def dns_rules(action: str, domains: list[str], response: str | None = None, **extra: object) -> list[DnsRule]:
    return [
        DnsRule.from_api({"Priority": 100, "Action": action, "BlockResponse": response, **extra}, domains)
    ]


@pytest.mark.parametrize(
    ("domains", "name", "response"),
    [
        (["evil.example"], "evil.example", "NODATA"),
        (["evil.example"], "EVIL.example.", "NODATA"),
        (["evil.example"], "c2.evil.example", "resolved"),
        (["*.evil.example"], "c2.evil.example", "NODATA"),
        (["*.evil.example"], "evil.example", "resolved"),
    ],
)
def test_dns_firewall_blocks_the_names_and_wildcards_of_its_list(domains, name, response):
    assert resolve([(100, dns_rules("BLOCK", domains, "NODATA"))], name).response == response


def test_dns_firewall_answers_nxdomain_override_alert_and_allow():
    assert resolve([(1, dns_rules("BLOCK", ["a.example"], "NXDOMAIN"))], "a.example").response == "NXDOMAIN"
    override = resolve(
        [
            (
                1,
                dns_rules(
                    "BLOCK", ["a.example"], "OVERRIDE", BlockOverrideDomain="sink.example", BlockOverrideTtl=5
                ),
            )
        ],
        "a.example",
    )
    assert (override.response, override.cname, override.ttl) == ("OVERRIDE", "sink.example", 5)
    alert = resolve([(1, dns_rules("ALERT", ["a.example"]))], "a.example")
    assert (alert.response, alert.alerted) == ("resolved", True)


def test_dns_firewall_groups_run_in_association_priority_order():
    allow, block = dns_rules("ALLOW", ["a.example"]), dns_rules("BLOCK", ["a.example"], "NODATA")
    assert resolve([(200, block), (100, allow)], "a.example").response == "resolved"
    assert resolve([(100, block), (200, allow)], "a.example").response == "NODATA"


def test_the_firewall_engine_drops_a_blocked_host_by_rule_variable_and_accepts_the_rest():
    blocklist = firewall_group(
        firewall_rule("DROP", "FLOW", "IP_ALL", "IP", SourceIPs="$BLOCKED"),
        firewall_rule("DROP", "FLOW", "IP_ALL", "IP", DestIPs="$BLOCKED"),
        variables={"BLOCKED": [f"{BAD}/32"]},
    )
    engine = FirewallEngine([blocklist], default_action="ACCEPT")
    assert engine.judge(Packet(INSTANCE, BAD, TCP, 1, 443), first=True).action == "drop"
    assert engine.judge(Packet(BAD, INSTANCE, TCP, 443, 1), first=True).scope == "flow"
    assert engine.judge(Packet(INSTANCE, GOOD, TCP, 1, 443), first=True).passes


def test_the_firewall_engine_is_drop_by_default_until_a_rule_accepts():
    accept_tcp = firewall_rule("ACCEPT", "HOOK", "TCP_ALL", "TCP")
    assert not FirewallEngine([firewall_group()]).judge(Packet(INSTANCE, GOOD, TCP, 1, 80), first=True).passes
    assert (
        FirewallEngine([firewall_group(accept_tcp)])
        .judge(Packet(INSTANCE, GOOD, TCP, 1, 80), first=True)
        .passes
    )
    assert (
        not FirewallEngine([firewall_group(accept_tcp)])
        .judge(Packet(INSTANCE, GOOD, UDP, 1, 53), first=True)
        .passes
    )


def test_an_application_hook_needs_its_prior_hooks_accepted():
    carrier = firewall_rule("ACCEPT", "HOOK", "TCP_ALL", "TCP")
    sni = [{"Keyword": "tls.sni"}, {"Keyword": "content", "Settings": ['"good.example"']}]
    alone = firewall_rule("ACCEPT", "FLOW", "TLS_CLIENT_HELLO", "TLS", RuleOptions=sni)
    prior = {**alone, "AcceptPriorHooks": True}
    packet = hello(sni="good.example")
    assert not FirewallEngine([firewall_group(carrier, alone)]).judge(packet, first=False).passes
    verdict = FirewallEngine([firewall_group(carrier, prior)]).judge(packet, first=False)
    assert (verdict.action, verdict.scope, verdict.hook) == ("accept", "flow", "TLS_CLIENT_HELLO")


def test_a_firewall_deny_list_drops_the_flow_at_the_client_hello():
    engine = FirewallEngine(
        [domain_group([".evil.example"])], default_action="ACCEPT", home_net=["10.0.0.0/16"]
    )
    verdict = engine.judge(hello(sni="www.evil.example"), first=False)
    assert (verdict.action, verdict.scope, verdict.hook) == ("drop", "flow", "TLS_CLIENT_HELLO")
    assert engine.judge(hello(sni="fine.example"), first=False).passes


def test_a_disabled_firewall_rule_is_skipped():
    rule_off = firewall_rule("DROP", "FLOW", "IP_ALL", "IP", RuleMetadata={"RuleEnabled": False})
    assert (
        FirewallEngine([firewall_group(rule_off)], default_action="ACCEPT")
        .judge(Packet(BAD, GOOD), first=True)
        .passes
    )


@pytest.mark.parametrize(
    ("rule_fields", "named"),
    [
        ({"Action": "DROP", "ActionScope": "HOOK"}, "DROP:HOOK is not a valid"),
        ({"Protocol": "UDP"}, "does not match hook TCP_ALL"),
        ({"RuleOptions": [{"Keyword": "ja3.hash"}]}, "ja3.hash"),
    ],
)
def test_firewall_rules_outside_the_model_are_refused_by_name(rule_fields, named):
    bad = {**firewall_rule("ACCEPT", "FLOW", "TCP_ALL", "TCP"), **rule_fields}
    with pytest.raises(UnsupportedRule, match=named):
        FirewallEngine([firewall_group(bad)])
