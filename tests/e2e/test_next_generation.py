"""``replay -c firewallPolicyType=next-generation``: a finding blocked and pruned on a Next Generation
firewall in the sandbox (issue 19), through the program's own dynamic resources and the functions; and
``--state`` carrying a Next Generation stack's blocks (its FIREWALL group's variable) between commands."""

import json
from pathlib import Path

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


NEXT_GENERATION = ("-c", "firewallPolicyType=next-generation")
MANUAL_HOST = "203.0.113.9/32"


def test_a_state_file_carries_a_next_generation_stacks_blocks_from_one_command_to_the_next(run_cli, tmp_path):
    state = str(tmp_path / "ng.json")

    blocked = run_cli("block", "203.0.113.9", "--reason", "IR-7", "--state", state, *NEXT_GENERATION)
    status = run_cli("status", "--json", "--state", state, *NEXT_GENERATION)

    assert blocked.status == 0, blocked.err
    saved = json.loads(Path(state).read_text())
    assert saved["firewall_policy_type"] == "next-generation"
    assert saved["rule_variables"]["IPSets"]["NFW_BLOCKLIST"]["Definition"] == [MANUAL_HOST]
    assert FROM_HOST in saved["rules_source"]["FirewallRules"]
    assert status.status == 0, status.err
    assert status.json["by_source"] == {"manual": 1}
    assert status.json["drift"]["missing_from_group"] == []


def test_a_state_file_of_a_classic_stack_is_refused_in_one_line_by_a_next_generation_one(run_cli, tmp_path):
    state = tmp_path / "classic.json"  # saved before files named their type: a Classic stack's
    saved = json.dumps({"version": 1, "clock": 1609852501, "ledger": [], "rules_source": {}})
    state.write_text(saved)

    refused = run_cli("list", "--state", str(state), *NEXT_GENERATION)

    assert refused.status == 2
    assert refused.err.strip().splitlines() == [
        f"nfw-blocklist: error: {state}: saved from a classic stack; "
        "this stack's firewallPolicyType is next-generation"
    ]
    assert state.read_text() == saved
