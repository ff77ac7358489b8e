"""The emulated firewall's flow table: a block written mid-flow cuts a stateless flow at its next packet,
a stateful flow keeps its verdict until it ends or is flushed, and the packet metrics it publishes."""

import boto3
import pytest

from nfw_blocklist import emulator
from nfw_blocklist.emulator import flows
from nfw_blocklist.emulator.errors import InvalidRequestException
from nfw_blocklist.traffic import TCP, Packet
from tests.traffic_groups import (
    BAD,
    GOOD,
    INSTANCE,
    blocklist_group,
    domain_group,
    firewall_group,
    firewall_rule,
)

HOME_NET = ["10.0.0.0/16"]


@pytest.fixture
def store(aws):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.networkfirewall.models import networkfirewall_backends

    return emulator.store_for(networkfirewall_backends[DEFAULT_ACCOUNT_ID]["us-east-1"])


def classic(store, stateless: dict, stateful: dict | None = None) -> flows.EmulatedFirewall:
    blocklist = store.create(
        name="blocklist", rule_group_type="STATELESS", capacity=100, rule_group=stateless
    )
    policy: dict = {
        "StatelessRuleGroupReferences": [{"ResourceArn": blocklist.arn, "Priority": 1}],
        "StatelessDefaultActions": ["aws:forward_to_sfe"],
    }
    if stateful is not None:
        domains = store.create(name="domains", rule_group_type="STATEFUL", capacity=100, rule_group=stateful)
        policy["StatefulRuleGroupReferences"] = [{"ResourceArn": domains.arn}]
    return flows.EmulatedFirewall(store, policy, "fw", HOME_NET)


def replace_rules(store, name: str, kind: str, rule_group: dict) -> None:
    group = store.get(name=name, rule_group_type=kind)
    store.update(group, update_token=group.version.update_token, rule_group=rule_group)


def connection(destination: str, sni: str | None = None) -> list[Packet]:
    """A TCP connection from the instance: SYN, SYN-ACK, ACK, (ClientHello), then data both ways."""
    syn = Packet(INSTANCE, destination, TCP, 40000, 443, frozenset({"SYN"}))
    return [
        syn,
        syn.reply(tcp_flags=frozenset({"SYN", "ACK"})),
        Packet(INSTANCE, destination, TCP, 40000, 443, frozenset({"ACK"})),
        Packet(INSTANCE, destination, TCP, 40000, 443, frozenset({"PSH", "ACK"}), sni=sni),
        syn.reply(tcp_flags=frozenset({"PSH", "ACK"})),
        Packet(INSTANCE, destination, TCP, 40000, 443, frozenset({"PSH", "ACK"})),
    ]


def test_a_host_blocked_mid_flow_is_cut_at_its_next_packet_both_ways(store):
    firewall = classic(store, blocklist_group())
    packets = connection(BAD)
    before = [firewall.send(packet).passed for packet in packets[:3]]
    replace_rules(store, "blocklist", "STATELESS", blocklist_group(BAD))
    after = [firewall.send(packet) for packet in packets[3:]]

    assert before == [True, True, True]
    assert [verdict.passed for verdict in after] == [False, False, False]
    assert {verdict.engine for verdict in after} == {"Stateless"}
    assert all(verdict.metric_dimensions == ("BlocklistDrop",) for verdict in after)


def test_a_prune_lets_the_next_packet_through(store):
    firewall = classic(store, blocklist_group(BAD))
    syn, syn_ack = connection(BAD)[:2]
    assert not firewall.send(syn).passed
    replace_rules(store, "blocklist", "STATELESS", blocklist_group())
    assert firewall.send(syn_ack).passed


def test_a_domain_blocked_after_the_client_hello_keeps_its_connection_and_stops_the_next(store):
    firewall = classic(store, blocklist_group(), domain_group(["placeholder.invalid"]))
    old = connection(GOOD, sni="c2.evil.example")
    assert all(firewall.send(packet).passed for packet in old[:4])
    replace_rules(store, "domains", "STATEFUL", domain_group([".evil.example"]))

    assert [firewall.send(packet).passed for packet in old[4:]] == [True, True]
    new = [firewall.send(packet) for packet in connection(GOOD, sni="c2.evil.example")]
    assert [verdict.passed for verdict in new] == [True, True, True, False, False, False]
    assert new[3].engine == "Stateful" and new[4].reason == "the flow's stateful verdict: drop"


def test_a_next_generation_flow_keeps_its_accept_until_flushed(store):
    accept_all = firewall_group(firewall_rule("ACCEPT", "FLOW", "IP_ALL", "IP"))
    blocked = firewall_group(
        firewall_rule("DROP", "FLOW", "IP_ALL", "IP", DestIPs="$BLOCKED"),
        firewall_rule("ACCEPT", "FLOW", "IP_ALL", "IP"),
        variables={"BLOCKED": [f"{BAD}/32"]},
    )
    policy = {"FirewallRuleGroupEntries": [{"Priority": 1, "InlineRuleGroup": accept_all}]}
    firewall = flows.EmulatedFirewall(store, policy, "fw", HOME_NET)
    packets = connection(BAD)
    assert firewall.send(packets[0]).passed
    firewall.policy = {"FirewallRuleGroupEntries": [{"Priority": 1, "InlineRuleGroup": blocked}]}
    assert firewall.send(packets[1]).passed  # accept:flow holds

    flushed = firewall.flush([{"DestinationAddress": {"AddressDefinition": f"{BAD}/32"}}])

    assert flushed == 1
    assert not firewall.send(packets[2]).passed
    assert firewall.send(connection(GOOD)[0]).passed


def test_a_flush_forgets_only_the_flows_its_filters_match(store):
    firewall = classic(store, blocklist_group())
    for destination in (BAD, GOOD):
        firewall.send(connection(destination)[0])
    assert (
        firewall.flush([{"DestinationAddress": {"AddressDefinition": f"{GOOD}/32"}, "Protocols": ["6"]}]) == 1
    )
    assert [key.destination for key in firewall.flows] == [BAD]
    assert firewall.flush([{"DestinationPort": "80:90"}]) == 0


def test_a_flush_without_filters_is_refused():
    with pytest.raises(InvalidRequestException, match="FlowFilters must hold 1-20 filters, got 0"):
        flows.EmulatedFirewall(None, {}, "fw", HOME_NET).flush([])  # type: ignore[arg-type]


def test_the_firewall_publishes_its_drops_per_custom_action(store):
    firewall = classic(store, blocklist_group(BAD))
    for packet in connection(BAD)[:2] + connection(GOOD)[:1]:
        firewall.send(packet)
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    firewall.publish_metrics(cloudwatch, 1_700_000_000)

    listed = cloudwatch.list_metrics(Namespace="AWS/NetworkFirewall", MetricName="Packets")["Metrics"]
    [custom] = listed
    dimensions = {d["Name"]: d["Value"] for d in custom["Dimensions"]}
    assert dimensions == {
        "FirewallName": "fw",
        "AvailabilityZone": "us-east-1a",
        "Engine": "Stateless",
        "CustomAction": "BlocklistDrop",
    }
    statistics = cloudwatch.get_metric_statistics(
        Namespace="AWS/NetworkFirewall",
        MetricName="Packets",
        Dimensions=custom["Dimensions"],
        StartTime=1_699_999_000,
        EndTime=1_700_001_000,
        Period=300,
        Statistics=["Sum"],
    )["Datapoints"]
    assert [point["Sum"] for point in statistics] == [2.0]
