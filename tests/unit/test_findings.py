"""The synthetic findings the bench and the tests send are the shapes extraction reads."""

from handlers.extraction import extract
from nfw_blocklist.findings import port_probe_finding


def test_a_port_probe_finding_names_each_given_host_as_a_probe():
    event = port_probe_finding(["198.18.0.1", "2001:db8::7"], finding_id="f" * 32)

    candidates = extract(event).candidates

    assert [c.raw_host for c in candidates] == ["198.18.0.1", "2001:db8::7"]
    assert {c.action for c in candidates} == {"portProbeAction"}
    assert {c.finding.id for c in candidates} == {"f" * 32}
    assert event["detail"]["type"] == "Recon:EC2/PortProbeUnprotectedPort"
