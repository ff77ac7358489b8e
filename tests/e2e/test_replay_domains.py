"""Issue 12 end to end: GuardDuty's C&CActivity.B!DNS test finding, replayed in both shapes through the
deployed workflows, blocks guarddutyc2activityb.com in the stateful domain list; pruning removes it."""

import pytest

DOMAIN = "guarddutyc2activityb.com"
SHAPES = [
    pytest.param("securityhub-guardduty-dns-c2-finding.json", "securityhub", id="security-hub"),
    pytest.param("guardduty-native-dns-c2.json", "guardduty", id="native"),
]


@pytest.mark.parametrize(("name", "finding_source"), SHAPES)
def test_the_c2_dns_finding_blocks_its_domain_and_pruning_removes_it(run_cli, sample, name, finding_source):
    blocked = run_cli("replay", "--json", "-c", f"findingSource={finding_source}", sample(name))

    assert blocked.status == 0, blocked.err
    [event] = blocked.json["events"]
    [execution] = event["executions"]
    assert (execution["status"], execution["blocked"]) == ("SUCCEEDED", [DOMAIN])
    assert blocked.json["rule_group"]["domains"] == {"network-firewall": [DOMAIN]}
    assert blocked.json["rule_group"]["cidrs"] == []
    assert [row["host"] for row in blocked.json["ledger"]] == [DOMAIN]
    assert blocked.json["notifications"][0]["Domains"] == [DOMAIN]
    assert blocked.json["notifications"][0]["Input"]["HostIp"] == ""  # a domain is never a HostIp
    # The e-mail names the group that holds the domain, not the IP group
    [email] = blocked.json["emails"]
    assert "Domains blocked in: domain rule group nfw-blocklist-domains-" in email["text"]
    assert "nfw-blocklist-rules-" not in email["text"]

    pruned = run_cli(
        "replay", "--json", "-c", f"findingSource={finding_source}", "--prune-after", "13h", sample(name)
    )

    assert pruned.status == 0, pruned.err
    assert pruned.json["pruned"] == [DOMAIN]
    assert pruned.json["rule_group"]["domains"] == {"network-firewall": []}
    assert pruned.json["ledger"] == []


def test_with_domain_blocking_off_the_dns_finding_does_not_start_the_workflow(run_cli, sample):
    result = run_cli(
        "replay", "--json", "-c", "domainBlocking=off", sample("securityhub-guardduty-dns-c2-finding.json")
    )

    assert result.status == 0, result.err
    assert result.json["events"][0]["matched"] is False
    assert result.json["rule_group"]["domains"] == {}


def test_a_domain_is_blocked_and_unblocked_by_hand_through_the_cli(run_cli, tmp_path):
    state = str(tmp_path / "state.json")
    blocked = run_cli("block", "Evil.Example.", "--reason", "phishing kit", "--state", state)
    assert blocked.status == 0, blocked.err
    listed = run_cli("list", "--json", "--state", state)
    assert [row["host"] for row in listed.json] == ["evil.example"]
    status = run_cli("status", "--json", "--state", state)
    assert status.json["domains"]["points"]["network-firewall"]["blocked"] == 1
    unblocked = run_cli("unblock", "evil.example", "--state", state)
    assert unblocked.status == 0, unblocked.err
    assert run_cli("list", "--json", "--state", state).json == []


def test_a_protected_domain_is_refused_by_the_cli_with_one_line(run_cli, tmp_path):
    result = run_cli("block", "s3.amazonaws.com", "--reason", "no", "--state", str(tmp_path / "s.json"))
    assert result.status == 2
    assert "protected domain amazonaws.com" in result.err and result.err.count("\n") == 1
