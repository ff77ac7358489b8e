"""Attack sequences end to end (issue 20): the shipped samples replayed through the deployed workflows.

A sequence at GuardDuty's bounds (400 endpoints, 400 values of each kind) is held within every payload limit
in tests/integration/test_attack_sequence_bounds.py, where each payload is computed: through the sandbox
the same proof took 80-100 s, nearly all of it moto's DynamoDB recording 800 ledger items."""

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
