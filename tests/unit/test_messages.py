"""The notifications' two forms: the JSON the reference defines, and the e-mail text built from it."""

import json
import shlex
from datetime import UTC, datetime

import pytest

from handlers import messages
from handlers.model import TargetKind
from handlers.payloads import SAMPLE_SIZE, BlockOutcome, GroupUsage, KindOutcome, PruneOutcome
from nfw_blocklist import cli

FINDING = {
    "id": "arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f",
    "type": "Backdoor:EC2/C&CActivity.B",
    "severity": 8,
    "account": "123456789012",
    "region": "us-east-1",
    "last_seen": 1609809301,
}
EXPIRES = datetime(2021, 1, 5, 13, 25, tzinfo=UTC).timestamp()


def block(hosts: list[str], evicted: list[str] | None = None) -> dict:
    addresses = KindOutcome(
        TargetKind.ADDRESS,
        "rule group nfw-blocklist-rules-3098a1b",
        blocked=hosts,
        evicted=evicted or [],
        usage=GroupUsage(used=3, total=2000, hosts=1),
    )
    return BlockOutcome(
        finding=FINDING, timestamp="2021-01-05T01:15:01Z", kinds=[addresses], expires_at=EXPIRES
    ).to_payload()


def test_a_single_block_reads_as_one_sentence_naming_host_finding_and_expiry():
    payload = block(["198.51.100.0/32"])

    assert payload["subject"] == "nfw-blocklist: blocked 198.51.100.0/32"
    assert payload["message"]["email"].splitlines()[0] == (
        "Blocked 198.51.100.0/32 (Backdoor:EC2/C&CActivity.B, severity 8.0, account 123456789012, "
        "us-east-1) until 2021-01-05 13:25 UTC."
    )
    assert (
        "Hosts blocked in: rule group nfw-blocklist-rules-3098a1b (3 of 2000 capacity units used)"
        in payload["message"]["email"]
    )


def test_the_default_message_is_the_reference_json_unchanged():
    payload = block(["198.51.100.0/32"])

    assert json.loads(payload["message"]["default"]) == payload["notification"]
    assert payload["notification"]["Blocked"] == "true"
    assert payload["notification"]["Input"]["HostIp"] == "198.51.100.0"


def test_a_burst_lists_the_same_bounded_sample_as_the_json_and_counts_the_rest():
    hosts = [f"198.51.100.{i}/32" for i in range(SAMPLE_SIZE + 5)]
    payload = block(hosts, evicted=[f"203.0.113.{i}/32" for i in range(3)])

    email = payload["message"]["email"]
    assert payload["subject"] == "nfw-blocklist: blocked 25 hosts, evicted 3"
    for host in payload["notification"]["Hosts"]:
        assert host in email
    assert f"Blocked 25 hosts: {', '.join(sorted(hosts)[:SAMPLE_SIZE])} and 5 more (" in email
    assert "Evicted to make room (least recently seen first): 3 hosts: 203.0.113.0/32, " in email


def test_the_email_text_stays_bounded_whatever_the_number_of_hosts():
    # The longest canonical host spelling (43 characters), 15,000 blocked and as many evicted.
    longest = [f"2001:db8:ffff:ffff:ffff:ffff:ffff:{i:04x}/128" for i in range(15_000)]
    payload = block(longest, evicted=longest)

    assert len(payload["message"]["email"].encode()) < 4096
    assert "and 14980 more" in payload["message"]["email"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nfw-blocklist: blocked 198.51.100.0/32", "nfw-blocklist: blocked 198.51.100.0/32"),
        ("line\nbreak", "line?break"),
        ("caf\u00e9 \u202e", "caf? ?"),
        ("x" * 150, "x" * 97 + "..."),
    ],
)
def test_a_subject_is_printable_ascii_of_at_most_100_characters(text, expected):
    assert messages.subject(text) == expected
    assert len(messages.subject(text)) <= messages.MAX_SUBJECT


def test_a_prune_reads_as_what_changed_and_when():
    payload = PruneOutcome(
        at="2021-01-05T13:26:00Z",
        pruned=["198.51.100.0/32"],
        added=["203.0.113.7/32"],
        at_epoch=datetime(2021, 1, 5, 13, 26, tzinfo=UTC).timestamp(),
        places={"address": "rule group nfw-blocklist-rules-3098a1b"},
        usage=GroupUsage(used=3, total=2000, hosts=1),
    ).to_payload()

    assert payload["subject"] == "nfw-blocklist: unblocked 198.51.100.0/32, repaired drift"
    assert payload["message"]["email"].splitlines() == [
        "Unblocked 198.51.100.0/32 (retention expired).",
        "Restored 203.0.113.7/32 missing from where it is blocked (drift).",
        "",
        "Hosts blocked in: rule group nfw-blocklist-rules-3098a1b (3 of 2000 capacity units used)",
        "Pruning run at 2021-01-05 13:26 UTC",
    ]
    assert json.loads(payload["message"]["default"]) == payload["notification"]


def test_an_address_and_a_domain_of_one_finding_are_reported_each_with_its_own_fate_and_place():
    addresses = KindOutcome(
        TargetKind.ADDRESS, "rule group nfw-blocklist-rules-3098a1b", blocked=["198.51.100.7/32"]
    )
    domains = KindOutcome(
        TargetKind.DOMAIN,
        "DNS Firewall domain list rslvr-fdl-1",
        not_blocked=["evil.example"],
        error="CapacityExceeded",
        reason="2 hosts do not fit: the rule group holds 1",
    )
    payload = BlockOutcome(
        FINDING, "2021-01-05T01:15:01Z", kinds=[addresses, domains], expires_at=EXPIRES
    ).to_payload()

    assert payload["subject"] == (
        "nfw-blocklist: blocked 198.51.100.7/32; NOT blocked domain evil.example (CapacityExceeded)"
    )
    lines = payload["message"]["email"].splitlines()
    assert lines[0].startswith("Blocked 198.51.100.7/32 (Backdoor")
    assert lines[1] == (
        "NOT blocked: domain evil.example in DNS Firewall domain list rslvr-fdl-1: "
        "2 hosts do not fit: the rule group holds 1 (CapacityExceeded)."
    )
    assert lines[2].startswith("What to do: ")
    assert "Hosts blocked in: rule group nfw-blocklist-rules-3098a1b" in lines
    assert "Domains blocked in: DNS Firewall domain list rslvr-fdl-1" in lines
    notification = json.loads(payload["message"]["default"])
    assert notification["Input"]["HostIp"] == "198.51.100.7"
    assert notification["Input"]["Domain"] == ""
    assert notification["Blocked"] == "partial"


def test_a_blocked_domain_is_named_as_a_domain_never_as_the_host_ip():
    domains = KindOutcome(TargetKind.DOMAIN, "domain rule group d", blocked=["evil.example"])
    payload = BlockOutcome(FINDING, "2021-01-05T01:15:01Z", kinds=[domains], expires_at=EXPIRES).to_payload()

    assert payload["notification"]["Input"]["HostIp"] == ""
    assert payload["notification"]["Input"]["Domain"] == "evil.example"
    assert (payload["notification"]["Hosts"], payload["notification"]["Domains"]) == ([], ["evil.example"])
    assert payload["subject"] == "nfw-blocklist: blocked domain evil.example"
    assert payload["message"]["email"].startswith("Blocked domain evil.example (")


def test_a_prune_names_each_kind_and_where_each_kind_is_blocked():
    payload = PruneOutcome(
        at="2021-01-05T13:26:00Z",
        pruned=["198.51.100.0/32", "guarddutyc2activityb.com"],
        at_epoch=datetime(2021, 1, 5, 13, 26, tzinfo=UTC).timestamp(),
        places={"address": "rule group r", "domain": "DNS Firewall domain list rslvr-fdl-1"},
    ).to_payload()

    assert payload["subject"] == "nfw-blocklist: unblocked 2 expired hosts and domains"
    lines = payload["message"]["email"].splitlines()
    assert (
        lines[0]
        == "Unblocked 2 hosts and domains: 198.51.100.0/32, guarddutyc2activityb.com (retention expired)."
    )
    assert "Hosts blocked in: rule group r" in lines
    assert "Domains blocked in: DNS Firewall domain list rslvr-fdl-1" in lines


def test_the_unblock_hint_is_a_command_that_acts_on_the_deployed_stack():
    email = block(["198.51.100.0/32"])["message"]["email"]
    commands = [line.strip() for line in email.splitlines() if line.strip().startswith("nfw-blocklist ")]

    assert len(commands) == 1, email
    args = cli.build_parser().parse_args(shlex.split(commands[0])[1:])
    assert (args.command, args.host, args.live, args.stack_outputs) == (
        "unblock",
        "198.51.100.0/32",
        True,
        "outputs.json",
    )
    assert "pulumi stack output --json > outputs.json" in email


def test_the_unblock_hint_of_several_hosts_names_the_argument_to_fill_in():
    email = block(["198.51.100.0/32", "203.0.113.9/32"])["message"]["email"]

    assert "nfw-blocklist unblock HOST --live --stack-outputs outputs.json" in email
