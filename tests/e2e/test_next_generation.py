"""``replay -c firewallPolicyType=next-generation``: a finding blocked and pruned on a Next Generation
firewall in the sandbox (issue 19), through the program's own dynamic resources and the functions."""

REFERENCE = "securityhub-guardduty-c2-finding.json"
REFERENCE_HOST = "198.51.100.0/32"
FROM_HOST = {
    "Action": "DROP",
    "ActionScope": "PACKET",
    "Hook": "IP_PRE_FLOW",
    "Protocol": "IP",
    "SourceIPs": "$NFW_BLOCKLIST",
}


def test_a_replayed_finding_is_blocked_then_pruned_on_a_next_generation_firewall(run_cli, sample):
    result = run_cli(
        "replay",
        "--json",
        "-c",
        "firewallPolicyType=next-generation",
        "-c",
        "createFirewallPolicy=true",
        "--prune-after",
        "13h",
        sample(REFERENCE),
    )

    assert result.status == 0, result.err
    report = result.json
    [execution] = report["events"][0]["executions"]
    assert (execution["status"], execution["blocked"]) == ("SUCCEEDED", [REFERENCE_HOST])
    assert report["pruned"] == [REFERENCE_HOST]
    assert report["rule_group"]["cidrs"] == []
    assert FROM_HOST in report["rule_group"]["rules"]
