"""``nfw-blocklist replay`` with the new Security Hub: one GuardDuty finding by CSPM and by the new Security
Hub through the sandbox's rules, workflow and Security Hub; the report says which way each event came and
what was deduplicated."""

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from nfw_blocklist import cli
from nfw_blocklist.reports import print_replay
from tests.e2e.conftest import CliRun

CSPM = "securityhub-guardduty-c2-finding.json"
OCSF = "securityhub-v2-guardduty-c2-finding.json"
HOST = "198.51.100.0/32"
GUARDDUTY_ID = "1234680e481690b44f7cc7e221abcdef"
SAMPLES = Path(__file__).resolve().parents[2] / "nfw_blocklist" / "samples"


@pytest.fixture(scope="module")
def both_hubs(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """One replay (a sandbox's worth of time) that every test of the module reads: the finding by CSPM, a
    forgery of it by a custom integration in the new Security Hub, then the finding by the new one."""
    forged = json.loads((SAMPLES / OCSF).read_text())
    forged["id"] = "forged-0000-4000-8000-000000000000"
    finding = forged["detail"]["findings"][0]
    finding["metadata"]["product"]["uid"] = (
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    )
    finding["metadata"]["uid"] = "forged"
    finding["evidences"][0]["dst_endpoint"]["ip"] = "203.0.113.66"
    forged_file = tmp_path_factory.mktemp("forged") / "forged.json"
    forged_file.write_text(json.dumps(forged))
    files = [str(SAMPLES / CSPM), str(forged_file), str(SAMPLES / OCSF)]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = cli.main(["replay", "--json", "-c", "findingSource=all", *files])
    return CliRun(status, out.getvalue(), err.getvalue())


def test_replay_names_the_way_each_event_came(both_hubs):
    assert both_hubs.status == 0, both_hubs.err
    assert [event["via"] for event in both_hubs.json["events"]] == [
        "securityhub",
        "securityhubv2",
        "securityhubv2",
    ]


def test_a_forged_ocsf_finding_naming_guardduty_starts_nothing_and_blocks_nothing(both_hubs):
    forged = both_hubs.json["events"][1]

    assert (forged["matched"], forged["executions"]) == (False, [])
    assert both_hubs.json["rule_group"]["cidrs"] == [HOST]


def test_the_second_way_is_deduplicated_blocks_nothing_new_and_notifies_nothing(both_hubs):
    first, second = (event["executions"][0] for event in both_hubs.json["events"][::2])

    assert (first["blocked"], first["deduplicated"]) == ([HOST], [])
    assert (second["blocked"], second["refreshed"]) == ([], [HOST])
    assert second["deduplicated"] == [{"finding": GUARDDUTY_ID, "via": "securityhubv2"}]
    assert len(both_hubs.json["notifications"]) == 1


def test_each_security_hub_has_the_finding_annotated_once_and_the_echoes_end(both_hubs):
    updates = both_hubs.json["finding_updates"]

    assert [(u["product_arn"].rsplit("::", 1)[-1], u["status"]) for u in updates] == [
        ("product/aws/guardduty", "processed"),
        ("productv2/aws/guardduty", "processed"),
    ]
    follow_ups = [f for event in both_hubs.json["events"] for f in event["follow_ups"]]
    assert [sorted({s["reason"] for r in f["executions"] for s in r["skipped"]}) for f in follow_ups] == [
        ["own-update"],
        ["own-update"],
    ]


def test_the_text_report_says_the_way_and_the_deduplication(both_hubs):
    out = io.StringIO()
    with redirect_stdout(out):
        print_replay(both_hubs.json, {})

    assert "(via securityhubv2): matched" in out.getvalue()
    assert (
        f"deduplicated: GuardDuty finding {GUARDDUTY_ID}, recorded already (this time via securityhubv2)"
        in (out.getvalue())
    )
