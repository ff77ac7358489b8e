"""``nfw-blocklist replay``: events through the rendered program in the sandbox, as the user runs it."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nfw_blocklist.findings import provider_update

REFERENCE = "securityhub-guardduty-c2-finding.json"
REFERENCE_HOST = "198.51.100.0/32"
IP_FIELD = "aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV4"


def test_the_reference_finding_is_blocked_both_ways_and_notified_in_the_reference_format(run_cli, sample):
    result = run_cli("replay", "--json", sample(REFERENCE))

    assert result.status == 0, result.err
    report = result.json
    [event] = report["events"]
    assert event["matched"] is True
    [execution] = event["executions"]
    assert (execution["status"], execution["blocked"]) == ("SUCCEEDED", [REFERENCE_HOST])
    assert [row["host"] for row in report["ledger"]] == [REFERENCE_HOST]
    assert report["rule_group"]["cidrs"] == [REFERENCE_HOST]
    owned = {
        rule["Priority"]: rule["RuleDefinition"]["MatchAttributes"] for rule in report["rule_group"]["rules"]
    }
    assert owned[30000]["Sources"] == [{"AddressDefinition": REFERENCE_HOST}]
    assert owned[30100]["Destinations"] == [{"AddressDefinition": REFERENCE_HOST}]
    [notification] = report["notifications"]
    assert notification["Blocked"] == "true"
    assert notification["Input"]["HostIp"] == "198.51.100.0"
    assert notification["Input"]["FindingId"].endswith("/finding/1234680e481690b44f7cc7e221abcdef")
    [email] = report["emails"]
    assert email["subject"] == "nfw-blocklist: blocked 198.51.100.0/32"
    assert email["text"].startswith("Blocked 198.51.100.0/32 (Backdoor:EC2.C&CActivity.B, severity 8.0, ")


def test_the_json_report_has_exactly_the_documented_shape(run_cli, sample):
    report = run_cli("replay", "--json", sample(REFERENCE)).json

    assert set(report) == {
        "events",
        "pruned",
        "ledger",
        "rule_group",
        "notifications",
        "emails",
        "finding_updates",
    }
    assert set(report["events"][0]) == {"file", "id", "via", "matched", "executions", "follow_ups"}
    assert set(report["events"][0]["executions"][0]) == {
        "name", "status", "blocked", "refreshed", "evicted", "not_blocked", "skipped", "deduplicated"
    }  # fmt: skip
    assert set(report["events"][0]["follow_ups"][0]) == {"id", "matched", "executions"}
    assert set(report["finding_updates"][0]) == {
        "finding_id", "product_arn", "status", "note", "updated_by", "user_defined_fields",
        "workflow_status", "at",
    }  # fmt: skip
    assert set(report["ledger"][0]) == {"host", "first_seen", "last_seen", "expires", "source"}
    assert set(report["rule_group"]) == {"cidrs", "rules", "domains"}


@pytest.mark.parametrize("finding_source", ["guardduty", "both"])
def test_a_native_guardduty_finding_is_blocked_when_the_finding_source_allows_it(
    run_cli, sample, finding_source
):
    result = run_cli(
        "replay", "--json", "-c", f"findingSource={finding_source}", sample("guardduty-native-ipv4.json")
    )

    assert result.status == 0, result.err
    [event] = result.json["events"]
    assert event["matched"] is True
    assert event["executions"][0]["status"] == "SUCCEEDED"
    assert event["executions"][0]["blocked"] == result.json["rule_group"]["cidrs"] != []


def test_a_native_guardduty_finding_matches_nothing_with_the_default_finding_source(run_cli, sample):
    result = run_cli("replay", "--json", sample("guardduty-native-ipv4.json"))

    assert result.status == 0
    assert result.json["events"][0] == {
        "file": sample("guardduty-native-ipv4.json"),
        "id": result.json["events"][0]["id"],
        "via": "guardduty",
        "matched": False,
        "executions": [],
        "follow_ups": [],
    }
    assert result.json["ledger"] == []
    assert result.json["finding_updates"] == []


def test_an_unrelated_event_matches_nothing_and_exits_zero(run_cli, sample):
    result = run_cli("replay", "--json", "-c", "findingSource=both", sample("unrelated-event.json"))

    assert result.status == 0
    assert result.json["events"][0]["matched"] is False
    assert result.json["notifications"] == []


def test_hosts_are_pruned_after_the_retention(run_cli, sample):
    result = run_cli("replay", "--json", "--prune-after", "13h", sample(REFERENCE))

    assert result.status == 0, result.err
    assert result.json["pruned"] == [REFERENCE_HOST]
    assert result.json["ledger"] == []
    assert result.json["rule_group"]["cidrs"] == []
    assert result.json["notifications"][-1]["Pruned"] == [REFERENCE_HOST]


def test_hosts_within_the_retention_survive_a_pruning_run(run_cli, sample):
    result = run_cli("replay", "--json", "--prune-after", "1h", sample(REFERENCE))

    assert result.status == 0, result.err
    assert result.json["pruned"] == []
    assert result.json["rule_group"]["cidrs"] == [REFERENCE_HOST]


def test_a_repeated_finding_refreshes_the_host_without_a_second_notification(
    run_cli, sample, write_event, reference_event
):
    result = run_cli(
        "replay",
        "--json",
        sample(REFERENCE),
        write_event("later.json", provider_update(reference_event, "2021-01-05T01:25:33Z")),
    )

    assert result.status == 0, result.err
    first, second = (event["executions"][0] for event in result.json["events"])
    assert first["blocked"] == [REFERENCE_HOST]
    assert (second["blocked"], second["refreshed"]) == ([], [REFERENCE_HOST])
    assert len(result.json["notifications"]) == 1


def test_the_same_finding_delivered_twice_is_not_a_new_sighting(run_cli, sample):
    result = run_cli("replay", "--json", sample(REFERENCE), sample(REFERENCE))

    assert result.status == 0, result.err
    second = result.json["events"][1]["executions"][0]
    assert (second["blocked"], second["refreshed"]) == ([], [])
    assert second["skipped"] == [{"host": "198.51.100.0", "reason": "own-update"}]
    assert len(result.json["notifications"]) == 1


def test_a_finding_naming_only_a_protected_host_blocks_nothing(run_cli, write_event, reference_event):
    event = copy.deepcopy(reference_event)
    event["detail"]["findings"][0]["ProductFields"][IP_FIELD] = "10.0.0.5"

    result = run_cli("replay", "--json", write_event("private.json", event))

    assert result.status == 0, result.err
    [execution] = result.json["events"][0]["executions"]
    assert execution["status"] == "SUCCEEDED"
    assert execution["skipped"] == [{"host": "10.0.0.5/32", "reason": "protected"}]
    assert result.json["rule_group"]["cidrs"] == []


def test_a_failed_execution_exits_one_and_notifies_the_failure(run_cli, sample):
    # The smallest group (3 units) holds one host; the port probe brings three.
    result = run_cli(
        "replay",
        "--json",
        "-c",
        "ruleGroupCapacity=3",
        "-c",
        "onCapacityFull=refuse",
        "-c",
        "findingSource=guardduty",
        sample("guardduty-native-portprobe.json"),
    )

    assert result.status == 1
    assert result.json["events"][0]["executions"][0]["status"] == "FAILED"
    [notification] = result.json["notifications"]
    assert notification["Blocked"] == "false"
    assert [failed["Error"] for failed in notification["NotBlocked"]] == ["CapacityExceeded"]
    assert result.json["ledger"] == [], "a refused host is taken back out of the ledger"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "missing.json"], "missing.json: no such file"),
        (["replay", "{invalid}"], "invalid JSON"),
        (["replay", "-c", "noSuchKey=1", "{reference}"], "unknown config key 'noSuchKey'"),
        (["replay", "-c", "retentionMinutes=soon", "{reference}"], "retentionMinutes"),
        (["replay", "-c", "justakey", "{reference}"], "expected KEY=VALUE"),
        (["replay", "--prune-after", "13 hours", "{reference}"], "invalid duration"),
        (["replay", "--prune-after", "0h", "{reference}"], "invalid duration"),
        (["replay", "{array_of_numbers}"], "expected an EventBridge event object"),
        (["replay"], "the following arguments are required"),
        (["block", "203.0.113.9", "--reason", "test", "--ttl", "2x"], "invalid duration"),
        (["replay", "--stack", "nosuchstack", "{reference}"], "no stack file"),
    ],
)
def test_bad_input_exits_two_with_one_line_and_processes_nothing(run_cli, sample, tmp_path, args, message):
    invalid = tmp_path / "invalid.json"
    invalid.write_text("{not json")
    numbers = tmp_path / "numbers.json"
    numbers.write_text("[1, 2]")
    paths = {"{reference}": sample(REFERENCE), "{invalid}": str(invalid), "{array_of_numbers}": str(numbers)}

    result = run_cli(*[paths.get(arg, arg) for arg in args])

    assert result.status == 2
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert message in result.err
    assert "Traceback" not in result.err


def test_the_console_script_runs_a_replay_in_a_fresh_process(sample):
    script = Path(sys.executable).with_name("nfw-blocklist")

    completed = subprocess.run(
        [str(script), "replay", "--json", sample(REFERENCE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["rule_group"]["cidrs"] == [REFERENCE_HOST]


def test_a_replay_says_it_ran_in_a_local_sandbox(run_cli, sample):
    text = run_cli("replay", sample("securityhub-guardduty-c2-finding.json"))
    as_json = run_cli("replay", "--json", sample("securityhub-guardduty-c2-finding.json"))

    assert text.out.splitlines()[-1] == ("(replayed in a local sandbox of stack 'dev'; AWS was not touched)")
    assert as_json.json["ledger"]
    assert "replayed in a local sandbox" in as_json.err
