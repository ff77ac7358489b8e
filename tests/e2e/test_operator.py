"""Operator commands: the same use cases as the Lambdas, on the sandbox (kept in a state file) or live."""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nfw_blocklist.sandbox import Sandbox

MANUAL_HOST = "203.0.113.9/32"


@pytest.fixture
def state(tmp_path):
    return str(tmp_path / "sandbox.json")


def test_a_manual_block_reaches_the_ledger_and_the_rule_group_and_unblock_removes_it(run_cli, state):
    blocked = run_cli(
        "block", "203.0.113.9", "--reason", "incident 42", "--ttl", "2d", "--state", state, "--json"
    )
    assert blocked.status == 0, blocked.err
    assert blocked.json["host"] == MANUAL_HOST

    listed = run_cli("list", "--json", "--state", state).json
    assert [(row["host"], row["source"], row["reason"]) for row in listed] == [
        (MANUAL_HOST, "manual", "incident 42")
    ]
    status = run_cli("status", "--json", "--state", state).json
    assert status["by_source"] == {"manual": 1}
    assert status["drift"]["missing_from_group"] == []

    unblocked = run_cli("unblock", "203.0.113.9", "--state", state, "--json")
    assert unblocked.status == 0, unblocked.err
    assert unblocked.json["was_blocked"] is True
    assert run_cli("list", "--json", "--state", state).json == []
    assert run_cli("status", "--json", "--state", state).json["hosts"] == 0


@pytest.mark.parametrize("host", ["10.1.2.3", "not-an-ip", "169.254.169.254"])
def test_a_protected_or_invalid_host_is_refused_with_one_line_and_nothing_changes(run_cli, state, host):
    refused = run_cli("block", host, "--reason", "oops", "--state", state)

    assert refused.status == 2
    assert len(refused.err.strip().splitlines()) == 1
    assert refused.out == ""


def test_prune_dry_run_shows_what_would_expire_and_prune_removes_it(run_cli, sample, state):
    run_cli("replay", "--state", state, sample("securityhub-guardduty-c2-finding.json"))
    assert run_cli("prune", "--dry-run", "--json", "--state", state).json == {"would_prune": []}

    state_doc = json.loads(Path(state).read_text())
    state_doc["clock"] += 13 * 3600  # thirteen hours pass between two operator commands
    Path(state).write_text(json.dumps(state_doc))

    dry = run_cli("prune", "--dry-run", "--json", "--state", state).json
    assert [row["host"] for row in dry["would_prune"]] == ["198.51.100.0/32"]
    pruned = run_cli("prune", "--json", "--state", state).json
    assert pruned["pruned"] == ["198.51.100.0/32"]
    assert run_cli("list", "--json", "--state", state).json == []


def test_status_reports_drift_made_behind_the_tools_back(run_cli, sample, state):
    run_cli("replay", "--state", state, sample("securityhub-guardduty-c2-finding.json"))
    state_doc = json.loads(Path(state).read_text())
    stateless = state_doc["rules_source"]["StatelessRulesAndCustomActions"]
    stateless["StatelessRules"] = [
        r for r in stateless["StatelessRules"] if r["Priority"] not in (30000, 30100)
    ]
    Path(state).write_text(json.dumps(state_doc))

    status = run_cli("status", "--json", "--state", state).json
    assert status["drift"]["missing_from_group"] == ["198.51.100.0/32"]

    repaired = run_cli("prune", "--json", "--state", state).json
    assert repaired["drift"]["added"] == ["198.51.100.0/32"]
    assert run_cli("status", "--json", "--state", state).json["drift"]["missing_from_group"] == []


def test_live_mode_reads_the_deployed_settings_through_the_stack_outputs(
    run_cli, dev_render, reference_event, tmp_path
):
    # "Live" AWS here is moto, serving a sandbox deployed in this process: the CLI only sees boto3.
    with Sandbox(dev_render) as sandbox:
        sandbox.put_event(reference_event)
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps(dev_render.outputs))

        listed = run_cli("list", "--live", "--stack-outputs", str(outputs), "--json")

    assert listed.status == 0, listed.err
    assert [row["host"] for row in listed.json] == ["198.51.100.0/32"]


def test_live_mode_without_outputs_or_environment_is_refused(run_cli, monkeypatch):
    monkeypatch.delenv("NFW_TABLE_NAME", raising=False)
    monkeypatch.delenv("NFW_RULE_GROUP_ARN", raising=False)

    refused = run_cli("status", "--live")

    assert refused.status == 2
    assert "NFW_TABLE_NAME" in refused.err


def test_a_sandbox_command_says_it_acted_on_a_local_sandbox_and_how_to_act_on_the_stack(run_cli):
    text = run_cli("unblock", "198.51.100.7")
    as_json = run_cli("unblock", "198.51.100.7", "--json")

    assert text.status == as_json.status == 0
    assert text.out.splitlines()[0] == "198.51.100.7/32 was not blocked"
    assert "acted on a local sandbox of stack 'dev'" in text.out.splitlines()[-1]
    assert "--live --stack-outputs FILE" in text.out.splitlines()[-1]
    assert as_json.json["was_blocked"] is False
    assert "acted on a local sandbox" in as_json.err


def tamper(state: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the saved sandbox behind the tool's back, as a hand edit in the console would."""
    document = json.loads(Path(state).read_text())
    change(document)
    Path(state).write_text(json.dumps(document))


def test_text_status_shows_a_domain_added_to_the_domain_group_by_hand(run_cli, sample, state):
    run_cli("replay", "--state", state, sample("securityhub-guardduty-dns-c2-finding.json"))
    tamper(
        state,
        lambda doc: doc["domain_rules_source"]["RulesSourceList"]["Targets"].append("s3.amazonaws.com"),
    )

    text = run_cli("status", "--state", state)
    as_json = run_cli("status", "--json", "--state", state).json

    assert as_json["domains"]["points"]["network-firewall"]["not_in_ledger"] == ["s3.amazonaws.com"]
    assert "drift: none" not in text.out
    assert "domains in network-firewall the ledger does not hold: s3.amazonaws.com" in text.out


def test_prune_says_which_tampered_ledger_items_it_dropped_and_why(run_cli, sample, state):
    run_cli("replay", "--state", state, sample("securityhub-guardduty-dns-c2-finding.json"))

    def add_items(doc: dict[str, Any]) -> None:
        domain = next(i for i in doc["ledger"] if i["HostIp"]["S"] == "guarddutyc2activityb.com")
        for name in ("ec2.amazonaws.com", "bad!name.example"):
            doc["ledger"].append({**copy.deepcopy(domain), "HostIp": {"S": name}})

    tamper(state, add_items)

    pruned = run_cli("prune", "--state", state)

    assert pruned.status == 0, pruned.err
    lines = pruned.out.splitlines()
    dropped = lines[lines.index("dropped, never to be blocked:") + 1 :][:2]
    assert dropped == [
        "  " + run_cli("block", host, "--reason", "x").err.removeprefix("nfw-blocklist: error: ").strip()
        for host in ("bad!name.example", "ec2.amazonaws.com")
    ]
    assert [row["host"] for row in run_cli("list", "--json", "--state", state).json] == [
        "guarddutyc2activityb.com"
    ]


def test_release_unblocks_what_only_the_finding_held_and_extend_refuses_it_then(run_cli, sample, state):
    run_cli("replay", "--state", state, sample("securityhub-guardduty-c2-finding.json"))

    extended = run_cli(
        "extend", "1234680e481690b44f7cc7e221abcdef", "--ttl", "2d", "--state", state, "--json"
    )
    released = run_cli(
        "release", "1234680e481690b44f7cc7e221abcdef", "--by", "bob", "--state", state, "--json"
    )
    again = run_cli("extend", "1234680e481690b44f7cc7e221abcdef", "--state", state)

    assert extended.status == 0, extended.err
    assert extended.json["extended"] == ["198.51.100.0/32"]
    assert released.status == 0, released.err
    assert (released.json["released"], released.json["by"]) == (["198.51.100.0/32"], "bob")
    assert run_cli("list", "--json", "--state", state).json == []
    assert again.status == 2 and "was released by bob" in again.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["release", ""], "finding id"),
        (["release", "f", "--by", " "], "--by"),
        (["extend", "f", "--ttl", "0s"], "duration"),
    ],
)
def test_release_and_extend_refuse_bad_arguments_in_one_line(run_cli, state, args, message):
    refused = run_cli(*args, "--state", state)

    assert refused.status == 2
    assert message in refused.err and len(refused.err.strip().splitlines()) == 1
