"""Issue 18 items 4 and 5 end to end: a finding naming an IP and a domain, each kind with its own fate and
its own place in the notification, the Security Hub annotation, the metrics and the replay summary."""

from collections.abc import Iterator
from typing import Any

import pytest

from handlers import metrics
from nfw_blocklist.findings import dns_finding, security_hub_ip_and_domain_finding
from nfw_blocklist.findings import sample as load_sample
from nfw_blocklist.render import render_stack
from nfw_blocklist.sandbox import Sandbox
from nfw_blocklist.sandbox.securityhub import finding_update_views

HOST = "198.51.100.7"
DOMAIN = "c2.blocklist.example"
FULL_DOMAIN_GROUP = {"domainRuleGroupCapacity": "4", "onCapacityFull": "refuse", "findingSource": "both"}
"""Room for one domain (2 units each plus 2), refused when full; native and Security Hub findings."""


@pytest.fixture(scope="module")
def full_domains_render() -> Any:
    return render_stack("dev", FULL_DOMAIN_GROUP)


@pytest.fixture
def full_domains(full_domains_render: Any) -> Iterator[Sandbox]:
    """The dev stack with its one-domain group already full."""
    with Sandbox(full_domains_render) as sandbox:
        [first] = sandbox.put_event(dns_finding("first.blocklist.example"))
        assert first.status == "SUCCEEDED"
        yield sandbox


def test_with_the_domain_group_full_the_ip_is_blocked_and_the_domain_reported_not_blocked_in_its_group(
    full_domains: Sandbox,
) -> None:
    [run] = full_domains.put_event(security_hub_ip_and_domain_finding(HOST, DOMAIN))

    # The IP is in the IP group; the execution ends failed for the domain, after its notification
    assert f"{HOST}/32" in str(full_domains.describe_rule_group()["RuleGroup"])
    assert run.status == "FAILED"
    assert run.entered_states[-3:] == ["NotifySuccess", "AnyTargetNotBlocked", "TargetsNotBlocked"]
    notification = full_domains.notifications()[-1]
    assert (notification["Blocked"], notification["Hosts"], notification["Domains"]) == (
        "partial",
        [f"{HOST}/32"],
        [],
    )
    [not_blocked] = notification["NotBlocked"]
    assert (not_blocked["Kind"], not_blocked["Targets"], not_blocked["Error"]) == (
        "domain",
        [DOMAIN],
        "CapacityExceeded",
    )
    assert not_blocked["Where"].startswith("domain rule group nfw-blocklist-domains-")
    email = full_domains.email_notifications()[-1]
    assert (
        email["subject"]
        == f"nfw-blocklist: blocked {HOST}/32; NOT blocked domain {DOMAIN} (CapacityExceeded)"
    )
    assert str(email["text"]).startswith(f"Blocked {HOST}/32 (")
    assert f"NOT blocked: domain {DOMAIN} in domain rule group nfw-blocklist-domains-" in str(email["text"])
    # The annotation says the same, kind by kind, each in its own place
    [update] = finding_update_views(full_domains.security_hub.calls())
    assert update["note"].startswith(
        f"nfw-blocklist blocked 1 host: {HOST}/32 in rule group nfw-blocklist-rules-"
    )
    assert f"could NOT block 1 domain: {DOMAIN} in domain rule group nfw-blocklist-domains-" in update["note"]
    fields = update["user_defined_fields"]
    assert fields["nfw-blocklist:status"] == "partially-blocked"
    assert fields["nfw-blocklist:hosts"] == f"{HOST}/32"
    assert update["workflow_status"] is None
    # The metrics count each kind apart
    [*_, block_metrics] = [doc for doc in full_domains.metric_documents() if metrics.HOSTS_BLOCKED in doc]
    assert (block_metrics[metrics.HOSTS_BLOCKED], block_metrics[metrics.DOMAINS_NOT_BLOCKED]) == (1, 1)


def test_a_blocked_domain_is_annotated_and_counted_as_a_domain_in_its_own_place() -> None:
    with Sandbox(render_stack("dev", {})) as sandbox:
        [run] = sandbox.put_event(load_sample("securityhub-guardduty-dns-c2-finding.json"))

        assert run.status == "SUCCEEDED"
        assert run.entered_states[-1] == "Blocked"
        [update] = finding_update_views(sandbox.security_hub.calls())
        assert update["note"].startswith(
            "nfw-blocklist blocked 1 domain: guarddutyc2activityb.com in domain rule"
        )
        assert "nfw-blocklist-rules-" not in update["note"]
        fields = update["user_defined_fields"]
        assert fields["nfw-blocklist:domains"] == "guarddutyc2activityb.com"
        assert "nfw-blocklist:hosts" not in fields and "nfw-blocklist:rule-group" not in fields
        [notification] = sandbox.notifications()
        assert notification["Input"]["HostIp"] == ""
        assert notification["Input"]["Domain"] == "guarddutyc2activityb.com"
        [*_, block_metrics] = [doc for doc in sandbox.metric_documents() if metrics.HOSTS_BLOCKED in doc]
        assert (block_metrics[metrics.HOSTS_BLOCKED], block_metrics[metrics.DOMAINS_BLOCKED]) == (0, 1)


def test_the_replay_summary_names_the_domains_blocked_beside_the_rule_groups_drops(run_cli, sample) -> None:
    result = run_cli("replay", sample("securityhub-guardduty-dns-c2-finding.json"))

    assert result.status == 0, result.err
    summary = "ledger: 1 target(s); rule group drops: -; domains blocked: network-firewall: "
    assert f"{summary}guarddutyc2activityb.com" in result.out
