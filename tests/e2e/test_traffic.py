"""Traffic through the sandbox (Classic target): a finding cuts an open connection at its next packet,
protected and never-blocked hosts pass, a prune lets new connections through; the same for a domain
over TLS, whose open connection keeps its stateful verdict."""

import json
from pathlib import Path

from nfw_blocklist.reports import sandbox_service

REFERENCE_HOST = "198.51.100.0"
"""The host the reference Security Hub finding names."""
DNS_FINDING_DOMAIN = "guarddutyc2activityb.com"

PROTECTED = "10.0.2.20"
"""An address in the protected VPC (private addresses are protected by default)."""
NEVER_BLOCKED = "198.51.100.77"


def test_an_open_connection_to_a_host_is_cut_at_the_packet_after_its_finding_blocks_it(
    dev_sandbox, reference_event
):
    traffic = dev_sandbox.traffic()
    session = traffic.connect(REFERENCE_HOST)
    session.exchange(2)
    assert session.first_drop is None

    [result] = dev_sandbox.put_event(reference_event)
    session.exchange(3)

    assert result.status == "SUCCEEDED"
    assert session.first_drop == 6, session.summary()
    assert [v.passed for _, v in session.packets[5:]] == [False, False, False]
    assert traffic.connect(NEVER_BLOCKED).first_drop is None
    assert traffic.connect(PROTECTED).first_drop is None
    inbound = traffic.connect(PROTECTED, client=REFERENCE_HOST, port=22)
    assert inbound.first_drop == 1


def test_a_prune_lets_new_connections_to_the_host_through(dev_sandbox, reference_event):
    dev_sandbox.put_event(reference_event)
    traffic = dev_sandbox.traffic()
    assert traffic.connect(REFERENCE_HOST).first_drop == 1

    dev_sandbox.advance(sandbox_service(dev_sandbox).settings.retention_seconds + 120)

    session = traffic.connect(REFERENCE_HOST)
    session.exchange(2)
    assert session.first_drop is None, session.summary()


def test_a_domain_blocked_mid_connection_keeps_that_connection_and_drops_the_next_at_its_client_hello(
    dev_sandbox, sample
):
    traffic = dev_sandbox.traffic()
    open_before = traffic.connect("203.0.113.50", sni=f"www.{DNS_FINDING_DOMAIN}")

    dev_sandbox.put_event(json.loads(Path(sample("securityhub-guardduty-dns-c2-finding.json")).read_text()))

    open_before.exchange(2)
    assert open_before.first_drop is None
    blocked = traffic.connect("203.0.113.50", sni=DNS_FINDING_DOMAIN)
    assert blocked.first_drop == 4 and blocked.packets[3][1].engine == "Stateful", blocked.summary()
    assert traffic.connect("203.0.113.50", sni="www.example.org").first_drop is None
