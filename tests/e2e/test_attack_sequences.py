"""Attack sequences end to end (issue 20): the shipped samples replayed through the deployed workflows, and
a sequence at GuardDuty's bounds (400 endpoints, 400 values of each kind) within every payload limit."""

from collections.abc import Iterator
from typing import Any

import pytest

from nfw_blocklist.findings import attack_sequence_findings, documentation_domains, documentation_hosts
from nfw_blocklist.sandbox.core import event_entry_size
from tests.e2e.test_bounded_payloads import EVENT_LIMIT, STATE_LIMIT, largest_message, largest_state_payload

NATIVE = "guardduty-native-attack-sequence.json"
ASFF = "securityhub-guardduty-attack-sequence.json"
ADDRESSES = [
    "198.51.100.77/32",
    "2001:db8:bad::45/128",
    "203.0.113.45/32",
    "203.0.113.46/32",
    "203.0.113.99/32",
]
DOMAINS = ["c2.malicious.example", "pool.miner.example"]
NAME = "Potential compromise of EC2 instance i-0abcd1234ef567890 indicated by a sequence of actions."


def test_both_shapes_of_one_sequence_block_its_indicators_once_and_the_email_names_the_sequence(
    run_cli, sample
):
    replayed = run_cli("replay", "--json", "-c", "findingSource=both", sample(NATIVE), sample(ASFF))

    assert replayed.status == 0, replayed.err
    native, imported = replayed.json["events"]
    [native_run] = native["executions"]
    assert (native_run["status"], native_run["blocked"]) == ("SUCCEEDED", [*ADDRESSES, *DOMAINS])
    # The same finding imported by Security Hub: nothing new, its hosts refreshed, and annotated.
    [imported_run] = imported["executions"]
    assert (imported_run["status"], imported_run["blocked"]) == ("SUCCEEDED", [])
    assert sorted(imported_run["refreshed"]) == [*ADDRESSES, *DOMAINS]
    # Endpoints no counted indicator names (an inbound scanner, the instance's own addresses, outbound
    # services) are not blocked; the Tor exit that connected in is.
    assert sorted(replayed.json["rule_group"]["cidrs"]) == ADDRESSES
    assert replayed.json["rule_group"]["domains"] == {"network-firewall": DOMAINS}
    [email] = replayed.json["emails"]
    assert f"\nFrom an attack sequence: {NAME}\n" in email["text"]
    assert "AttackSequence:EC2/CompromisedInstanceGroup, severity 9.0" in email["text"]
    [update] = replayed.json["finding_updates"]
    assert update["status"] == "processed" and update["note"].startswith("nfw-blocklist blocked 5 hosts: ")


@pytest.fixture(scope="module")
def bounds_render() -> Any:
    """Native findings, and a stateless group large enough for 400 hosts (2 rules of 400 CIDRs each)."""
    from nfw_blocklist.render import render_stack

    return render_stack("dev", {"findingSource": "guardduty", "ruleGroupCapacity": "30000"})


@pytest.fixture
def bounds_sandbox(bounds_render: Any) -> Iterator[Any]:
    from nfw_blocklist.sandbox import Sandbox

    with Sandbox(bounds_render, execution_timeout=600) as sandbox:
        yield sandbox


def test_a_sequence_at_guardduty_s_bounds_is_blocked_within_every_payload_limit(bounds_sandbox):
    """400 endpoints and 400 values of each kind: 800 targets of one finding, an event of ~130 KB."""
    addresses, domains = documentation_hosts(400), documentation_domains(400)
    native, _ = attack_sequence_findings(addresses, domains, endpoints=400)
    assert 100_000 < event_entry_size(native) < EVENT_LIMIT

    [run] = bounds_sandbox.put_event(native)

    assert run.status == "SUCCEEDED", run.error
    record = run.task_output("record")
    assert record["counts"]["new"] == 800 and len(record["new"]) == 20
    assert largest_state_payload(run) < STATE_LIMIT
    # The event is the execution's input; no state after RecordHosts carries it.
    entered = [e["stateEnteredEventDetails"]["input"] for e in run.history if "stateEnteredEventDetails" in e]
    assert all(len(text) < 20_000 for text in entered[1:]), [len(text) for text in entered[1:]]
    [notification] = bounds_sandbox.notifications()
    assert (notification["HostCount"], notification["DomainCount"]) == (400, 400)
    assert len(notification["Hosts"]) == len(notification["Domains"]) == 20
    assert largest_message(bounds_sandbox) < 10_000
    rules = bounds_sandbox.describe_rule_group()["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"]
    assert len(rules["StatelessRules"][0]["RuleDefinition"]["MatchAttributes"]["Sources"]) == 400
