"""Traffic through the sandbox: a finding cuts an open connection at its next packet, protected and
never-blocked hosts pass, a prune lets new connections through (Classic and Next Generation targets);
the same for a domain over TLS, whose open connection keeps its stateful verdict; on a Next Generation
firewall a FLOW-scoped ACCEPT holds past a block until StartFlowFlush names that firewall."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nfw_blocklist.reports import sandbox_service

REFERENCE_HOST = "198.51.100.0"
"""The host the reference Security Hub finding names."""
DNS_FINDING_DOMAIN = "guarddutyc2activityb.com"

PROTECTED = "10.0.2.20"
"""An address in the protected VPC (private addresses are protected by default)."""
NEVER_BLOCKED = "198.51.100.77"
NEXT_GENERATION = ["firewallPolicyType=next-generation"]


@pytest.fixture(scope="module")
def ng_render() -> Any:
    """The dev stack with a Next Generation FIREWALL rule group target (issue 19), rendered once."""
    from nfw_blocklist.arguments import parse_config_pairs
    from nfw_blocklist.stacks import render_with

    return render_with("dev", parse_config_pairs(NEXT_GENERATION))


@pytest.fixture
def ng_sandbox(ng_render: Any) -> Iterator[Any]:
    from nfw_blocklist.sandbox import Sandbox

    with Sandbox(ng_render) as sandbox:
        yield sandbox


def test_a_finding_cuts_an_open_connection_at_its_next_packet_and_the_prune_lets_new_ones_through(
    dev_sandbox, reference_event
):
    traffic = dev_sandbox.traffic()
    session = traffic.connect(REFERENCE_HOST)
    session.exchange(2)
    assert session.first_drop is None

    [result] = dev_sandbox.put_event(reference_event)
    session.exchange(3)

    assert result.status == "SUCCEEDED"
    assert session.first_drop == 6, session.summary()
    assert [v.passed for _, v in session.packets[5:]] == [False, False, False]
    assert traffic.connect(NEVER_BLOCKED).first_drop is None
    assert traffic.connect(PROTECTED).first_drop is None
    inbound = traffic.connect(PROTECTED, client=REFERENCE_HOST, port=22)
    assert inbound.first_drop == 1

    dev_sandbox.advance(sandbox_service(dev_sandbox).settings.retention_seconds + 120)

    after_prune = traffic.connect(REFERENCE_HOST)
    after_prune.exchange(2)
    assert after_prune.first_drop is None, after_prune.summary()


def test_on_a_next_generation_target_a_finding_cuts_an_open_connection_and_the_prune_lets_new_ones_through(
    ng_sandbox, reference_event
):
    traffic = ng_sandbox.traffic()
    entries = traffic.firewall.policy["FirewallRuleGroupEntries"]
    assert [e["ResourceArn"] for e in entries] == sorted(ng_sandbox.inventory.rule_groups), entries
    assert not any("InlineRuleGroup" in entry for entry in entries)
    session = traffic.connect(REFERENCE_HOST)
    session.exchange(2)
    assert session.first_drop is None

    [result] = ng_sandbox.put_event(reference_event)
    session.exchange(3)

    assert result.status == "SUCCEEDED"
    assert session.first_drop == 6, session.summary()
    cut = [verdict for _, verdict in session.packets[5:]]
    assert [v.passed for v in cut] == [False, False, False]  # data out, in, out: both directions
    assert [v.reason for v in cut] == [f"drop:packet by rule (1, {n}) at IP_PRE_FLOW" for n in (1, 0, 1)]
    written = traffic.store.get(arn=entries[1]["ResourceArn"]).version.rule_group
    assert written["RuleVariables"]["IPSets"]["NFW_BLOCKLIST"]["Definition"] == [f"{REFERENCE_HOST}/32"]
    assert traffic.connect(NEVER_BLOCKED).first_drop is None
    assert traffic.connect(PROTECTED).first_drop is None
    inbound = traffic.connect(PROTECTED, client=REFERENCE_HOST, port=22)
    assert inbound.first_drop == 1

    ng_sandbox.advance(sandbox_service(ng_sandbox).settings.retention_seconds + 120)

    after_prune = traffic.connect(REFERENCE_HOST)
    after_prune.exchange(2)
    assert after_prune.first_drop is None, after_prune.summary()


def test_a_domain_blocked_mid_connection_keeps_that_connection_and_drops_the_next_at_its_client_hello(
    dev_sandbox, sample
):
    traffic = dev_sandbox.traffic()
    open_before = traffic.connect("203.0.113.50", sni=f"www.{DNS_FINDING_DOMAIN}")

    dev_sandbox.put_event(json.loads(Path(sample("securityhub-guardduty-dns-c2-finding.json")).read_text()))

    open_before.exchange(2)
    assert open_before.first_drop is None
    blocked = traffic.connect("203.0.113.50", sni=DNS_FINDING_DOMAIN)
    assert blocked.first_drop == 4 and blocked.packets[3][1].engine == "Stateful", blocked.summary()
    assert traffic.connect("203.0.113.50", sni="www.example.org").first_drop is None


def test_the_traffic_command_reports_the_cut_and_the_published_drops(run_cli, sample):
    result = run_cli("traffic", "--json", "--packets", "4", sample("securityhub-guardduty-c2-finding.json"))

    assert result.status == 0, result.err
    report = result.json
    by_phase = {(c["phase"], c["target"]): c for c in report["connections"]}
    assert by_phase[("open before the findings", "finding's host")]["first_drop"] == 3 + 2 + 1
    assert by_phase[("opened after the findings", "finding's host")]["first_drop"] == 1
    assert by_phase[("opened after the findings", "finding's host, inbound")]["first_drop"] == 1
    controls = [c for c in report["connections"] if c["target"] in ("never blocked", "protected")]
    assert controls and not any(c["dropped"] for c in controls)
    dropped = sum(c["dropped"] for c in report["connections"])
    assert report["metrics"]["Packets Engine=Stateless CustomAction=BlocklistDrop"] == dropped


def test_the_traffic_command_refuses_a_packet_count_out_of_range_before_deploying(run_cli):
    result = run_cli("traffic", "--packets", "1")

    assert result.status == 2
    assert "--packets must be 2-1000, got 1" in result.err


def test_a_dns_finding_makes_the_vpc_resolver_answer_nodata_for_its_domain_until_the_prune(sample):
    from nfw_blocklist.arguments import parse_config_pairs
    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.stacks import render_with

    stack = parse_config_pairs(
        ["domainBlocking=dns-firewall", "dnsFirewallVpcIds[0]=vpc-0123456789abcdef0", "retentionMinutes=5"]
    )
    with Sandbox(render_with("dev", stack)) as sandbox:
        traffic = sandbox.traffic()
        assert traffic.resolve(DNS_FINDING_DOMAIN).response == "resolved"

        sandbox.put_event(json.loads(Path(sample("securityhub-guardduty-dns-c2-finding.json")).read_text()))

        assert traffic.resolve(DNS_FINDING_DOMAIN.upper() + ".").response == "NODATA"
        assert traffic.resolve(f"www.{DNS_FINDING_DOMAIN}").response == "resolved"  # exact names only
        sandbox.advance(5 * 60 + 1) or sandbox.run_pruning()
        assert traffic.resolve(DNS_FINDING_DOMAIN).response == "resolved"


ACCEPT_WEB_FLOWS = {
    "Action": "ACCEPT",
    "ActionScope": "FLOW",
    "Hook": "TCP_FLOW_START",
    "Protocol": "TCP",
    "SourceIPs": "any",
    "DestIPs": "any",
    "DestPorts": "443",
}
"""An operator's rule: accept a whole HTTPS connection when it starts (after the blocklist's IP_PRE_FLOW)."""


OPERATOR_FIREWALL = "operator-fw"


@pytest.fixture
def flushing_ng_sandbox() -> Iterator[Any]:
    """A Next Generation stack whose writer flushes the flows of the firewall ``operator-fw``
    (``flushFirewallArns``; a firewall's ARN is known before it is created)."""
    from nfw_blocklist.arguments import parse_config_pairs
    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.sandbox.core import ACCOUNT
    from nfw_blocklist.stacks import render_with

    named = f"arn:aws:network-firewall:us-east-1:{ACCOUNT}:firewall/{OPERATOR_FIREWALL}"
    stack = parse_config_pairs([*NEXT_GENERATION, f"flushFirewallArns[0]={named}"])
    with Sandbox(render_with("dev", stack)) as sandbox:
        yield sandbox


def test_a_flow_scoped_accept_outlives_a_block_until_a_flow_flush_names_its_firewall(
    flushing_ng_sandbox, reference_event
):
    from nfw_blocklist.sandbox.traffic import SandboxTraffic

    sandbox = flushing_ng_sandbox
    client = sandbox.client("network-firewall")
    web = client.create_rule_group(
        RuleGroupName="operator-web",
        Type="FIREWALL",
        Capacity=10,
        FirewallRuleGroup={"RulesSource": {"FirewallRules": [ACCEPT_WEB_FLOWS]}},
    )["RuleGroupResponse"]["RuleGroupArn"]
    groups = [*sorted(sandbox.inventory.rule_groups), web]
    policy = client.create_firewall_policy_v2(
        FirewallPolicyV2Name="operator-ng",
        FirewallPolicyV2={
            "FirewallRuleGroupEntries": [{"ResourceArn": g, "Priority": n} for n, g in enumerate(groups, 1)],
            "FirewallDefaultAction": "ACCEPT",
        },
    )["FirewallPolicyV2Response"]["FirewallPolicyV2Arn"]
    named, other = (
        client.create_firewall(
            FirewallName=name,
            FirewallPolicyArn=policy,
            VpcId="vpc-0123456789abcdef0",
            SubnetMappings=[{"SubnetId": "subnet-0123456789abcdef0"}],
        )["Firewall"]["FirewallArn"]
        for name in (OPERATOR_FIREWALL, "other-fw")
    )
    to_host = [{"DestinationAddress": {"AddressDefinition": f"{REFERENCE_HOST}/32"}}]

    with (
        SandboxTraffic(sandbox, firewall_arn=named) as flushed,
        SandboxTraffic(sandbox, firewall_arn=other) as kept,
    ):
        cut, held = flushed.connect(REFERENCE_HOST), kept.connect(REFERENCE_HOST)
        [result] = sandbox.put_event(reference_event)
        cut.exchange(2)
        held.exchange(2)

        assert result.status == "SUCCEEDED"
        assert cut.first_drop == 4, cut.summary()  # the writer flushed its firewall's flows to the host
        assert held.first_drop is None, held.summary()  # not this firewall's: ACCEPT FLOW holds
        assert held.packets[-1][1].reason == "the flow's firewall verdict: accept:flow"
        assert kept.connect(REFERENCE_HOST).first_drop == 1  # a new connection meets the block

        client.start_flow_flush(FirewallArn=other, FlowFilters=to_host)
        held.exchange(2)

        assert held.first_drop == 6, held.summary()
        assert [v.passed for _, v in held.packets[5:]] == [False, False]
        assert kept.connect(NEVER_BLOCKED).first_drop is None

    open_flows = len(kept.firewall.flows)
    client.start_flow_flush(
        FirewallArn=other, FlowFilters=[{"DestinationAddress": {"AddressDefinition": f"{NEVER_BLOCKED}/32"}}]
    )
    assert open_flows and len(kept.firewall.flows) == open_flows  # closed: flushes reach it no more


def test_the_sandbox_firewall_is_the_one_flush_firewall_arns_names_so_the_writers_flush_reaches_it(
    flushing_ng_sandbox, reference_event
):
    from nfw_blocklist.sandbox.core import ACCOUNT

    traffic = flushing_ng_sandbox.traffic()
    open_to_host, open_elsewhere = traffic.connect(REFERENCE_HOST), traffic.connect(NEVER_BLOCKED)

    [result] = flushing_ng_sandbox.put_event(reference_event)

    assert result.status == "SUCCEEDED"
    assert (
        traffic.firewall_arn == f"arn:aws:network-firewall:us-east-1:{ACCOUNT}:firewall/{OPERATOR_FIREWALL}"
    )
    [after_flush] = open_to_host.exchange(1)
    [kept] = open_elsewhere.exchange(1)
    assert after_flush.new_flow and not after_flush.passed, open_to_host.summary()  # its flow was flushed
    assert not kept.new_flow and kept.passed, open_elsewhere.summary()


def test_the_traffic_command_runs_a_next_generation_stacks_own_policy_on_its_own_firewall(run_cli, sample):
    result = run_cli(
        "traffic",
        "--json",
        "--packets",
        "2",
        *("-c", NEXT_GENERATION[0], "-c", "createFirewallPolicy=true"),
        sample("securityhub-guardduty-c2-finding.json"),
    )

    assert result.status == 0, result.err
    report = result.json
    assert report["policy"] == "next generation"
    assert report["firewall"].startswith("nfw-blocklist-policy-") and report["firewall"].endswith("-fw")
    by_phase = {(c["phase"], c["target"]): c for c in report["connections"]}
    assert by_phase[("open before the findings", "finding's host")]["first_drop"] == 3 + 1 + 1
    assert by_phase[("opened after the findings", "finding's host")]["first_drop"] == 1
