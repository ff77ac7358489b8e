"""People steer the blocking from Security Hub, through the real workflows in the sandbox: an analyst's
decision on a finding ends the block of the hosts only that finding holds."""

from typing import Any

from nfw_blocklist.findings import provider_update, security_hub_finding
from nfw_blocklist.sandbox import Sandbox

HOST = "198.51.100.0/32"
ANALYST = "alice@example.com"


def held(sandbox: Sandbox) -> dict[str, Any]:
    (finding,) = sandbox.client("securityhub").get_findings()["Findings"]
    return dict(finding)


def findings(sandbox: Sandbox) -> list[dict[str, Any]]:
    return list(sandbox.client("securityhub").get_findings()["Findings"])


def blocked(sandbox: Sandbox) -> set[str]:
    return {item["HostIp"] for item in sandbox.ledger_items() if "Shard" in item}


def test_an_analysts_suppression_unblocks_the_host_only_that_finding_held(dev_sandbox, reference_event):
    dev_sandbox.deliver(reference_event)
    assert blocked(dev_sandbox) == {HOST}

    [decision] = dev_sandbox.person_updates(held(dev_sandbox), by=ANALYST, workflow="SUPPRESSED")

    [run] = decision.executions
    assert run.entered_states == [
        "RecordHosts", "AnythingToBlock", "SteerHosts", "AnnotateSteered", "NotifySteered",
        "AnythingElseToBlock", "Steered",
    ]  # fmt: skip
    assert run.task_output("steer")["notification"]["Released"] == [HOST]
    assert blocked(dev_sandbox) == set()
    assert HOST not in str(dev_sandbox.describe_rule_group()["RuleGroup"]["RulesSource"])
    mail = dev_sandbox.email_notifications()[-1]
    assert "1 host(s) unblocked, suppressed in Security Hub" in str(mail["subject"])
    assert str(mail["text"]).startswith(f"{ANALYST} decided about 1 finding(s): suppressed in Security Hub")
    finding = held(dev_sandbox)
    assert finding["Workflow"]["Status"] == "SUPPRESSED"  # the person's decision stays
    assert finding["Note"]["Text"].startswith(
        f"Unblocked on {ANALYST}'s decision (suppressed in Security Hub)"
    )
    # The echo of that note still says SUPPRESSED: it is told from a new decision, and the loop ends.
    [echo] = decision.follow_ups
    [echo_run] = echo.executions
    assert "SteerHosts" not in echo_run.entered_states
    assert echo.follow_ups == []


def test_a_host_another_finding_holds_stays_when_a_person_resolves_one(dev_sandbox, reference_event):
    dev_sandbox.deliver(reference_event)
    dev_sandbox.deliver(security_hub_finding("198.51.100.0", finding_id="another-finding"))
    [first] = [f for f in findings(dev_sandbox) if f["Id"] == reference_event["detail"]["findings"][0]["Id"]]

    [decision] = dev_sandbox.person_updates(first, by=ANALYST, workflow="RESOLVED")

    [run] = decision.executions
    notification = run.task_output("steer")["notification"]
    assert (notification["Released"], notification["Kept"]) == ([], [HOST])
    assert blocked(dev_sandbox) == {HOST}


def test_a_suppressed_finding_seen_again_blocks_nothing(dev_sandbox, reference_event):
    dev_sandbox.deliver(reference_event)
    dev_sandbox.person_updates(held(dev_sandbox), by=ANALYST, workflow="SUPPRESSED")
    dev_sandbox.person_updates(held(dev_sandbox), by=ANALYST, workflow="NEW", note="reopened")

    [run] = dev_sandbox.put_event(provider_update(reference_event, "2021-01-05T02:30:00Z"))

    assert [skip["reason"] for skip in run.task_output("record")["skipped"]] == ["released"]
    assert blocked(dev_sandbox) == set()


def test_unblock_from_security_hub_lifts_the_block_until_block_now_sets_it_again(
    dev_sandbox, reference_event
):
    dev_sandbox.deliver(reference_event)

    action = dev_sandbox.custom_action("release", held(dev_sandbox))

    [run] = action.executions
    assert run.task_output("steer")["notification"]["Released"] == [HOST]
    assert "custom action Unblock (false pos)" in str(dev_sandbox.email_notifications()[-1]["text"])
    assert held(dev_sandbox)["UserDefinedFields"]["nfw-blocklist:status"] == "released"
    [again] = dev_sandbox.put_event(provider_update(reference_event, "2021-01-05T02:30:00Z"))
    assert [skip["reason"] for skip in again.task_output("record")["skipped"]] == ["released"]
    assert blocked(dev_sandbox) == set()

    [block_now] = dev_sandbox.custom_action("block-now", held(dev_sandbox)).executions

    assert block_now.task_output("block")["blocked"] == [HOST]
    assert blocked(dev_sandbox) == {HOST}


def test_extend_from_security_hub_pushes_the_expiry(dev_sandbox, reference_event):
    dev_sandbox.deliver(reference_event)
    [before] = [float(item["ExpiresAt"]) for item in dev_sandbox.ledger_items() if item["HostIp"] == HOST]
    dev_sandbox.advance(3600)

    action = dev_sandbox.custom_action("extend", held(dev_sandbox))

    [run] = action.executions
    assert run.task_output("steer")["notification"]["Extended"] == [HOST]
    [after] = [float(item["ExpiresAt"]) for item in dev_sandbox.ledger_items() if item["HostIp"] == HOST]
    assert after == before + 3600
    assert held(dev_sandbox)["Note"]["Text"].startswith("Block extended on")


def test_a_finding_archived_in_security_hub_releases_its_host(dev_sandbox, reference_event):
    dev_sandbox.deliver(reference_event)
    archived = provider_update(reference_event, "2021-01-05T02:30:00Z")
    archived["detail"]["findings"][0]["RecordState"] = "ARCHIVED"

    [run] = dev_sandbox.put_event(archived)

    assert run.task_output("steer")["steer"]["how"].startswith("archived")
    assert blocked(dev_sandbox) == set()
