"""findingRegions / findingAccounts through the record and block steps, against moto and the emulator."""

from typing import Any

from nfw_blocklist.findings import native_finding, security_hub_finding
from tests.integration import stack


def _two_region_event(load_sample: Any) -> dict[str, Any]:
    """One Security Hub event, two findings: a port probe in us-east-1, a connection in eu-west-1 of
    another account."""
    event: dict[str, Any] = load_sample("securityhub-multi-findings.json")
    second = event["detail"]["findings"][1]
    second["Region"], second["AwsAccountId"] = "eu-west-1", "111122223333"
    return event


def test_one_event_blocks_the_included_regions_finding_and_skips_the_other(
    group: str, load_sample: Any
) -> None:
    service = stack.service(group, finding_regions=("us-east-1",))

    recorded = service.record(_two_region_event(load_sample))
    service.block(recorded)

    assert stack.blocked_in_group(group) == {"198.51.100.201/32", "203.0.113.14/32"}
    assert recorded["skipped"] == [
        {
            "host": "2001:db8:4006:812::200e/128",
            "reason": "region-not-included",
            "finding_id": recorded["skipped"][0]["finding_id"],
        }
    ]


def test_one_event_blocks_the_included_accounts_finding_and_skips_the_other(
    group: str, load_sample: Any
) -> None:
    service = stack.service(group, finding_accounts=("111122223333",))

    recorded = service.record(_two_region_event(load_sample))
    service.block(recorded)

    assert stack.blocked_in_group(group) == {"2001:db8:4006:812::200e/128"}
    assert sorted(s["reason"] for s in recorded["skipped"]) == ["account-not-included"] * 2


def test_a_native_finding_of_another_account_records_nothing(group: str) -> None:
    service = stack.service(group, finding_accounts=("111122223333",))

    recorded = service.record(native_finding("198.51.100.7"))

    assert recorded["has_hosts"] is False
    assert [s["reason"] for s in recorded["skipped"]] == ["account-not-included"]
    assert stack.blocked_in_group(group) == set()


def _of_account(event: dict[str, Any], account: str) -> dict[str, Any]:
    """``event``'s Security Hub finding as one of ``account``'s (the same GuardDuty finding id)."""
    finding = event["detail"]["findings"][0]
    finding["AwsAccountId"] = account
    finding["Id"] = finding["Id"].replace(":123456789012:", f":{account}:")
    return event


def test_a_decision_about_a_finding_of_an_account_the_stack_does_not_act_on_releases_nothing(
    group: str,
) -> None:
    """An analyst's (or a forged, forwarded) suppression of another account's finding with the same
    GuardDuty id released this account's hosts: decisions ignored findingAccounts."""
    service = stack.service(group, finding_accounts=("123456789012",))
    service.block(service.record(security_hub_finding("198.51.100.40", finding_id="same-id")))
    other = _of_account(security_hub_finding("198.51.100.40", finding_id="same-id"), "444455556666")
    other["detail"]["findings"][0]["Workflow"] = {"Status": "SUPPRESSED"}

    recorded = service.record(other)

    assert "steer" not in recorded
    assert [skip["reason"] for skip in recorded["skipped"]] == ["account-not-included"]
    assert stack.blocked_in_group(group) == {"198.51.100.40/32"}


def test_an_archived_native_finding_of_a_region_the_stack_does_not_act_on_releases_nothing(
    group: str,
) -> None:
    service = stack.service(group, finding_regions=("us-east-1",))
    service.block(service.record(native_finding("198.51.100.41", finding_id="gd-7")))
    archived = native_finding("198.51.100.41", finding_id="gd-7")
    archived["detail"]["region"] = "eu-west-1"
    archived["detail"]["service"]["archived"] = True

    recorded = service.record(archived)

    assert "steer" not in recorded
    assert stack.blocked_in_group(group) == {"198.51.100.41/32"}
