"""The CLI's contract for bad input (README): exit 2, one line on stderr naming the problem, and
nothing changed — checked before anything is deployed, written or printed (issue 9, items 12, 13)."""

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nfw_blocklist.sandbox import Sandbox

REFERENCE = "securityhub-guardduty-c2-finding.json"
STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:no-such-workflow"
RULE_GROUP = "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/nfw-blocklist"


PLACEHOLDER_ONLY = {
    "StatelessRulesAndCustomActions": {
        "StatelessRules": [
            {
                "Priority": 65535,
                "RuleDefinition": {
                    "MatchAttributes": {"Sources": [{"AddressDefinition": "192.0.2.255/32"}]},
                    "Actions": ["aws:forward_to_sfe"],
                },
            }
        ]
    }
}


def _state(**overrides: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "clock": 1_609_809_900.0,
        "ledger": [],
        "rules_source": PLACEHOLDER_ONLY,
        **overrides,
    }


def _outputs(**overrides: Any) -> dict[str, Any]:
    return {"ruleGroupArn": RULE_GROUP, "stateMachineArn": STATE_MACHINE, "tableName": "ledger", **overrides}


# name -> (files to write: name -> text, CLI arguments, what the one line must mention)
CASES: dict[str, tuple[dict[str, str], list[str], str]] = {
    "ttl-past-a-year": ({}, ["block", "203.0.113.9", "--reason", "r", "--ttl", "3000000d"], "at most 365d"),
    "ttl-just-past-a-year": ({}, ["block", "203.0.113.9", "--reason", "r", "--ttl", "366d"], "at most 365d"),
    "prune-after-past-a-year": ({}, ["replay", "--prune-after", "3000000d", "{reference}"], "at most 365d"),
    "event-nested-too-deeply": (
        {"deep.json": "[" * 100_000 + "]" * 100_000},
        ["replay", "{deep.json}"],
        "nested too deeply",
    ),
    "event-integer-too-long": (
        {"long.json": '{"detail": ' + "9" * 5_000 + "}"},
        ["replay", "{long.json}"],
        "long.json: invalid JSON",
    ),
    "state-nested-too-deeply": (
        {"state.json": "[" * 100_000 + "]" * 100_000},
        ["list", "--state", "{state.json}"],
        "nested too deeply",
    ),
    "state-clock-not-a-number": (
        {"state.json": json.dumps(_state(clock="soon"))},
        ["list", "--state", "{state.json}"],
        "clock",
    ),
    "state-clock-past-year-2100": (
        {"state.json": json.dumps(_state(clock=1e300))},
        ["status", "--state", "{state.json}"],
        "clock",
    ),
    "state-clock-integer-too-long": (
        {"state.json": '{"version": 1, "clock": ' + "9" * 5_000 + ', "ledger": [], "rules_source": {}}'},
        ["status", "--state", "{state.json}"],
        "invalid JSON",
    ),
    "state-ledger-not-a-list": (
        {"state.json": json.dumps(_state(ledger="items"))},
        ["list", "--state", "{state.json}"],
        "ledger",
    ),
    "state-ledger-item-not-an-item": (
        {"state.json": json.dumps(_state(ledger=[{"HostIp": "203.0.113.9/32"}]))},
        ["list", "--state", "{state.json}"],
        "ledger",
    ),
    "state-ledger-item-expiring-after-year-9999": (
        {
            "state.json": json.dumps(
                _state(
                    ledger=[
                        {
                            "HostIp": {"S": "203.0.113.9/32"},
                            "Shard": {"S": "blocked"},
                            "Source": {"S": "manual"},
                            "FirstSeen": {"N": "1609809900"},
                            "LastSeen": {"N": "1609809900"},
                            "ExpiresAt": {"N": "1e20"},
                        }
                    ]
                )
            )
        },
        ["list", "--state", "{state.json}"],
        "ledger",
    ),
    "state-rules-source-not-an-object": (
        {"state.json": json.dumps(_state(rules_source=5))},
        ["list", "--state", "{state.json}"],
        "rules_source",
    ),
    "state-rules-source-refused-by-the-group": (
        {"state.json": json.dumps(_state(rules_source={"StatelessRulesAndCustomActions": {"x": 1}}))},
        ["list", "--state", "{state.json}"],
        "rules_source",
    ),
    "state-in-a-missing-directory": (
        {},
        ["block", "203.0.113.9", "--reason", "r", "--state", "{tmp}/missing/state.json"],
        "no such directory",
    ),
}
LIVE_CASES: dict[str, tuple[dict[str, str], list[str], str]] = {
    "stack-outputs-malformed-rule-group-arn": (
        {"outputs.json": json.dumps(_outputs(ruleGroupArn="nfw-blocklist"))},
        ["list", "--live", "--stack-outputs", "{outputs.json}"],
        "ruleGroupArn",
    ),
    "stack-outputs-malformed-state-machine-arn": (
        {"outputs.json": json.dumps(_outputs(stateMachineArn="arn:aws:states"))},
        ["list", "--live", "--stack-outputs", "{outputs.json}"],
        "stateMachineArn",
    ),
    "stack-outputs-nested-too-deeply": (
        {"outputs.json": "[" * 100_000 + "]" * 100_000},
        ["list", "--live", "--stack-outputs", "{outputs.json}"],
        "nested too deeply",
    ),
    "deployed-settings-unreadable": (
        {"outputs.json": json.dumps(_outputs())},
        ["status", "--live", "--stack-outputs", "{outputs.json}"],
        "cannot read the deployed settings",
    ),
}


@pytest.fixture
def aws(dev_render: Any) -> Any:
    """A deployed sandbox, so live commands meet a real (moto) AWS whose resources can be missing."""
    with Sandbox(dev_render) as sandbox:
        yield sandbox


def _prepare(
    tmp_path: Path, files: dict[str, str], args: list[str], sample: Callable[[str], str]
) -> list[str]:
    paths = {"{reference}": sample(REFERENCE)}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths[f"{{{name}}}"] = str(tmp_path / name)
    return [paths.get(arg, arg.replace("{tmp}", str(tmp_path))) for arg in args]


def _files(tmp_path: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(tmp_path.rglob("*")) if path.is_file()}


def _assert_refused_in_one_line(result: Any, mention: str) -> None:
    assert result.status == 2, result.err
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    assert mention in result.err, result.err


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_two_with_one_line_naming_it_and_writes_nothing(run_cli, sample, tmp_path, case):
    files, args, mention = CASES[case]
    argv = _prepare(tmp_path, files, args, sample)
    before = _files(tmp_path)

    result = run_cli(*argv)

    _assert_refused_in_one_line(result, mention)
    assert _files(tmp_path) == before, "a file was written"


@pytest.mark.parametrize("case", list(LIVE_CASES))
def test_bad_live_setup_exits_two_with_one_line_naming_it_and_changes_nothing(
    run_cli, sample, tmp_path, aws, case
):
    files, args, mention = LIVE_CASES[case]
    argv = _prepare(tmp_path, files, args, sample)
    before = (aws.ledger_items(), aws.describe_rule_group()["RuleGroup"], _files(tmp_path))

    result = run_cli(*argv)

    _assert_refused_in_one_line(result, mention)
    assert (aws.ledger_items(), aws.describe_rule_group()["RuleGroup"], _files(tmp_path)) == before


def test_the_console_script_refuses_bad_input_with_one_line_and_writes_nothing(tmp_path):
    script = Path(sys.executable).with_name("nfw-blocklist")
    state = tmp_path / "missing" / "state.json"

    completed = subprocess.run(
        [str(script), "block", "203.0.113.9", "--reason", "r", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )

    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert len(completed.stderr.splitlines()) == 1, completed.stderr
    assert "no such directory" in completed.stderr
    assert not state.parent.exists()


# --- Text output: data never reaches the terminal raw (issue 9, item 10) ------------------------------

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e\r"


def _assert_no_control_characters(text: str) -> None:
    assert all(c.isprintable() or c == "\n" for c in text), repr(text)


def test_list_escapes_control_characters_in_a_manual_reason(run_cli, tmp_path):
    state = str(tmp_path / "state.json")
    assert run_cli("block", "203.0.113.9", "--reason", f"incident{ESCAPES}42", "--state", state).status == 0

    listed = run_cli("list", "--state", state)

    assert listed.status == 0, listed.err
    _assert_no_control_characters(listed.out)
    assert "incident\\x1b]0;owned\\x07\\x1b[2J\\x1b[31m\\u202e\\r42" in listed.out


def test_replay_and_list_escape_control_characters_in_event_and_finding_ids(
    run_cli, write_event, reference_event, tmp_path
):
    event = copy.deepcopy(reference_event)
    event["id"] = f"event{ESCAPES}"
    event["detail"]["findings"][0]["Id"] = f"finding{ESCAPES}"
    state = str(tmp_path / "state.json")

    replayed = run_cli("replay", "--state", state, write_event("escapes.json", event))
    listed = run_cli("list", "--state", state)

    assert (replayed.status, listed.status) == (0, 0), replayed.err + listed.err
    _assert_no_control_characters(replayed.out + listed.out)
    assert "event\\x1b]0;owned" in replayed.out
    assert "finding\\x1b]0;owned" in listed.out


def test_an_error_message_naming_bad_input_stays_on_one_printable_line(run_cli, tmp_path):
    refused = run_cli("replay", str(tmp_path / f"missing{ESCAPES}\n2nd line.json"))

    assert refused.status == 2
    assert len(refused.err.splitlines()) == 1, refused.err
    _assert_no_control_characters(refused.err)


# --- Times the functions would not believe do not move the sandbox clock either (issue 9, item 12) --


@pytest.mark.parametrize("time", ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00"])
def test_an_event_dated_year_9999_replays_as_if_undated(
    run_cli, write_event, reference_event, tmp_path, time
):
    event = copy.deepcopy(reference_event)
    event["time"] = time
    state = str(tmp_path / "state.json")

    replayed = run_cli(
        "replay", "--json", "--prune-after", "13h", "--state", state, write_event("e.json", event)
    )
    listed = run_cli("list", "--json", "--state", state)

    assert replayed.status == 0, replayed.err
    assert replayed.json["events"][0]["executions"][0]["blocked"] == ["198.51.100.0/32"]
    assert replayed.json["pruned"] == ["198.51.100.0/32"]
    assert (listed.status, listed.json) == (0, [])
